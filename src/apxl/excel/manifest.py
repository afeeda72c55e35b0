"""The add-in-only XML manifest Excel loads: task pane, custom functions (namespace APXL) and ribbon buttons."""
from __future__ import annotations

import struct
import uuid
import zlib
from functools import lru_cache
from xml.sax.saxutils import escape, quoteattr

# A fixed id: Excel treats a manifest with a new id as a different add-in.
ADDIN_ID = "5b0c6f0e-3d1a-4c53-9a43-2a7b9d6e4a11"
NAMESPACE = "APXL"
ICON_SIZES = (16, 32, 64, 80)
# Ribbon buttons that run a script directly: (button id, function name for Office.actions.associate, label, tooltip).
RIBBON_SCRIPTS = (
    ("ValidateButton", "validate_register", "Validate register", "Check every placement and write a Findings sheet with the problems highlighted."),
    ("SummariesButton", "build_termly_summaries", "Termly summaries", "Write the Provider summary and Funding summary sheets for each term."),
    ("ReturnsButton", "import_school_returns", "Import school returns", "Check the school returns in the Settings sheet's Returns folder against the register and list new placements, differences and refused files."),
    ("ClearButton", "clear_apxl_output", "Clear apxl output", "Remove the Findings, summary and school returns sheets and the highlights apxl added."),
)


def _url(base: str, path: str, token: str | None) -> str:
    return base + path + (("&" if "?" in path else "?") + "token=" + token if token else "")


def manifest_xml(base: str, token: str | None = None) -> str:
    """The manifest for an apxl server reachable at ``base`` (e.g. https://localhost:8000)."""
    u = lambda path: escape(_url(base, path, token))  # noqa: E731
    icon = lambda size: escape(f"{base}/icons/apxl-{size}.png")  # noqa: E731
    buttons = "\n".join(
        f"""                <Control xsi:type="Button" id="{bid}">
                  <Label resid="{bid}.Label"/>
                  <Supertip><Title resid="{bid}.Label"/><Description resid="{bid}.Tooltip"/></Supertip>
                  <Icon><bt:Image size="16" resid="Icon.16"/><bt:Image size="32" resid="Icon.32"/><bt:Image size="80" resid="Icon.80"/></Icon>
                  <Action xsi:type="ExecuteFunction"><FunctionName>{fname}</FunctionName></Action>
                </Control>"""
        for bid, fname, _, _ in RIBBON_SCRIPTS
    )
    short = "\n".join(f'        <bt:String id="{bid}.Label" DefaultValue={quoteattr(label)}/>' for bid, _, label, _ in RIBBON_SCRIPTS)
    long = "\n".join(f'        <bt:String id="{bid}.Tooltip" DefaultValue={quoteattr(tip)}/>' for bid, _, _, tip in RIBBON_SCRIPTS)
    host = base.split("://", 1)[-1].split("/", 1)[0]
    scheme = base.split("://", 1)[0] if "://" in base else "https"
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<OfficeApp xmlns="http://schemas.microsoft.com/office/appforoffice/1.1"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:bt="http://schemas.microsoft.com/office/officeappbasictypes/1.0"
  xmlns:ov="http://schemas.microsoft.com/office/taskpaneappversionoverrides"
  xsi:type="TaskPaneApp">
  <Id>{ADDIN_ID}</Id>
  <Version>1.0.0.0</Version>
  <ProviderName>apxl</ProviderName>
  <DefaultLocale>en-GB</DefaultLocale>
  <DisplayName DefaultValue="apxl"/>
  <Description DefaultValue="Keeps an alternative provision register lawful, safe and correctly funded: APXL functions and register checks."/>
  <IconUrl DefaultValue="{icon(32)}"/>
  <HighResolutionIconUrl DefaultValue="{icon(64)}"/>
  <SupportUrl DefaultValue="{escape(base)}/"/>
  <AppDomains>
    <AppDomain>{escape(scheme + "://" + host)}</AppDomain>
  </AppDomains>
  <Hosts>
    <Host Name="Workbook"/>
  </Hosts>
  <Requirements>
    <Sets DefaultMinVersion="1.1">
      <Set Name="SharedRuntime" MinVersion="1.1"/>
    </Sets>
  </Requirements>
  <DefaultSettings>
    <SourceLocation DefaultValue="{u('/taskpane')}"/>
  </DefaultSettings>
  <Permissions>ReadWriteDocument</Permissions>
  <VersionOverrides xmlns="http://schemas.microsoft.com/office/taskpaneappversionoverrides" xsi:type="VersionOverridesV1_0">
    <Hosts>
      <Host xsi:type="Workbook">
        <Runtimes>
          <Runtime resid="Taskpane.Url" lifetime="long"/>
        </Runtimes>
        <AllFormFactors>
          <ExtensionPoint xsi:type="CustomFunctions">
            <Script>
              <SourceLocation resid="Functions.Script.Url"/>
            </Script>
            <Page>
              <SourceLocation resid="Taskpane.Url"/>
            </Page>
            <Metadata>
              <SourceLocation resid="Functions.Metadata.Url"/>
            </Metadata>
            <Namespace resid="Functions.Namespace"/>
          </ExtensionPoint>
        </AllFormFactors>
        <DesktopFormFactor>
          <GetStarted>
            <Title resid="GetStarted.Title"/>
            <Description resid="GetStarted.Description"/>
            <LearnMoreUrl resid="Home.Url"/>
          </GetStarted>
          <FunctionFile resid="Taskpane.Url"/>
          <ExtensionPoint xsi:type="PrimaryCommandSurface">
            <CustomTab id="ApxlTab">
              <Group id="ApxlGroup">
                <Label resid="ApxlGroup.Label"/>
                <Icon><bt:Image size="16" resid="Icon.16"/><bt:Image size="32" resid="Icon.32"/><bt:Image size="80" resid="Icon.80"/></Icon>
{buttons}
                <Control xsi:type="Button" id="TaskpaneButton">
                  <Label resid="TaskpaneButton.Label"/>
                  <Supertip><Title resid="TaskpaneButton.Label"/><Description resid="TaskpaneButton.Tooltip"/></Supertip>
                  <Icon><bt:Image size="16" resid="Icon.16"/><bt:Image size="32" resid="Icon.32"/><bt:Image size="80" resid="Icon.80"/></Icon>
                  <Action xsi:type="ShowTaskpane">
                    <TaskpaneId>ApxlPane</TaskpaneId>
                    <SourceLocation resid="Taskpane.Url"/>
                  </Action>
                </Control>
              </Group>
              <Label resid="ApxlTab.Label"/>
            </CustomTab>
          </ExtensionPoint>
        </DesktopFormFactor>
      </Host>
    </Hosts>
    <Resources>
      <bt:Images>
        <bt:Image id="Icon.16" DefaultValue="{icon(16)}"/>
        <bt:Image id="Icon.32" DefaultValue="{icon(32)}"/>
        <bt:Image id="Icon.80" DefaultValue="{icon(80)}"/>
      </bt:Images>
      <bt:Urls>
        <bt:Url id="Taskpane.Url" DefaultValue="{u('/taskpane')}"/>
        <bt:Url id="Functions.Script.Url" DefaultValue="{u('/xlwings/custom-functions-code')}"/>
        <bt:Url id="Functions.Metadata.Url" DefaultValue="{u('/xlwings/custom-functions-meta')}"/>
        <bt:Url id="Home.Url" DefaultValue="{escape(base)}/"/>
      </bt:Urls>
      <bt:ShortStrings>
        <bt:String id="Functions.Namespace" DefaultValue="{NAMESPACE}"/>
        <bt:String id="ApxlTab.Label" DefaultValue="apxl"/>
        <bt:String id="ApxlGroup.Label" DefaultValue="AP register"/>
        <bt:String id="TaskpaneButton.Label" DefaultValue="apxl pane"/>
        <bt:String id="GetStarted.Title" DefaultValue="apxl is ready"/>
{short}
      </bt:ShortStrings>
      <bt:LongStrings>
        <bt:String id="TaskpaneButton.Tooltip" DefaultValue="Open the apxl pane: register checks, summaries and help."/>
        <bt:String id="GetStarted.Description" DefaultValue="Use the apxl tab to check the register, or type =APXL. in a cell for the functions."/>
{long}
      </bt:LongStrings>
    </Resources>
  </VersionOverrides>
</OfficeApp>
"""


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@lru_cache(maxsize=None)
def icon_png(size: int) -> bytes:
    """A small square icon (teal with a white tick) drawn here, so the package ships no image files."""
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            u, v = x / size, y / size
            # a tick: a short stroke down-right then a long stroke up-right
            on_tick = (abs(v - (0.55 + (u - 0.25))) < 0.09 and 0.22 <= u <= 0.45) or (abs(v - (0.75 - (u - 0.42) * 1.2)) < 0.09 and 0.42 <= u <= 0.8)
            row += bytes((255, 255, 255, 255)) if on_tick else bytes((0, 122, 122, 255))
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + _chunk(b"IEND", b"")


def new_token() -> str:
    """A random shared secret for --token auto."""
    return uuid.uuid4().hex
