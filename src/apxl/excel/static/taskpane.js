// apxl task pane and ribbon buttons (Office.js). Written for apxl; MIT licence.
// A script run sends the workbook to the apxl server in xlwings Server's request format (client,
// version, book, names, sheets with values and tables) and applies the actions it answers with
// ({"actions": [{func, args, values, sheet_position, start_row, start_column, row_count, column_count}]}).
"use strict";

const pane = (globalThis.apxlPane = globalThis.apxlPane || {});
pane.config = (() => {
  try {
    return JSON.parse(document.getElementById("apxl-config").textContent);
  } catch (e) {
    return { version: "", token: "", scripts: [] };
  }
})();

pane.status = function status(text, isError) {
  const el = globalThis.document && document.getElementById("status");
  if (el) {
    el.textContent = text;
    el.className = isError ? "error" : "";
  }
};

pane.isDateCategory = (category) => category === "Date" || category === "Time";

// ---- reading the workbook -------------------------------------------------------------------
pane.bookData = async function bookData(context) {
  const workbook = context.workbook;
  workbook.load("name");
  const worksheets = workbook.worksheets;
  worksheets.load("items/name,items/position");
  const active = worksheets.getActiveWorksheet().load("position");
  const selection = workbook.getSelectedRange().load("address");
  await context.sync();
  const notesSupported = Office.context.requirements.isSetSupported("ExcelApi", "1.18");
  const datesSupported = Office.context.requirements.isSetSupported("ExcelApi", "1.12");
  const loaders = worksheets.items.map((sheet) => {
    const used = sheet.getUsedRangeOrNullObject(true);
    used.load("address,values,rowIndex,columnIndex");
    if (datesSupported) used.load("numberFormatCategories");
    const tables = sheet.tables.load("items/name,items/showHeaders,items/showTotals,items/style,items/showFilterButton");
    const notes = notesSupported ? sheet.notes.load("items") : null;
    return { sheet, used, tables, notes };
  });
  await context.sync();
  const tableRanges = [];
  const noteRanges = [];
  for (const item of loaders) {
    item.tableRanges = item.tables.items.map((t) => ({
      table: t,
      range: t.getRange().load("address"),
      header: t.showHeaders ? t.getHeaderRowRange().load("address") : null,
      body: t.getDataBodyRange().load("address"),
      total: t.showTotals ? t.getTotalRowRange().load("address") : null,
    }));
    tableRanges.push(...item.tableRanges);
    item.noteRanges = item.notes ? item.notes.items.map((n) => n.getLocation().load("address")) : [];
    noteRanges.push(...item.noteRanges);
  }
  await context.sync();
  const local = (address) => (address ? address.split("!").pop() : null);
  const sheets = loaders.map((item) => {
    let values = [[]];
    if (!item.used.isNullObject) {
      // The used range may start below/right of A1: pad so values[0][0] is A1, as xlwings expects.
      const top = item.used.rowIndex;
      const left = item.used.columnIndex;
      const width = left + (item.used.values[0] ? item.used.values[0].length : 0);
      values = [];
      for (let r = 0; r < top; r++) values.push(new Array(width).fill(""));
      item.used.values.forEach((row, r) => {
        const out = new Array(left).fill("").concat(row);
        if (datesSupported) {
          row.forEach((value, c) => {
            if (typeof value === "number" && pane.isDateCategory(String(item.used.numberFormatCategories[r][c]))) {
              out[left + c] = new Date(Math.round((value - 25569) * 86400000)).toISOString();
            }
          });
        }
        values.push(out);
      });
    }
    return {
      name: item.sheet.name,
      values,
      pictures: [],
      tables: item.tableRanges.map((t) => ({
        name: t.table.name,
        range_address: local(t.range.address),
        header_row_range_address: t.header ? local(t.header.address) : null,
        data_body_range_address: local(t.body.address),
        total_row_range_address: t.total ? local(t.total.address) : null,
        show_headers: t.table.showHeaders,
        show_totals: t.table.showTotals,
        table_style: t.table.style,
        show_autofilter: t.table.showFilterButton,
      })),
      notes: item.noteRanges.map((n) => ({ address: local(n.address) })),
      notes_supported: notesSupported,
    };
  });
  return {
    client: "Office.js",
    version: pane.config.version,
    book: { name: workbook.name, active_sheet_index: active.position, selection: local(selection.address) },
    names: [],
    sheets,
  };
};

// ---- applying the server's actions ----------------------------------------------------------
pane.sheetAt = (context, action) => context.workbook.worksheets.items[action.sheet_position];
pane.rangeOf = (context, action) =>
  pane.sheetAt(context, action).getRangeByIndexes(action.start_row, action.start_column, action.row_count, action.column_count);
pane.fill = (action, value) => Array.from({ length: action.row_count }, () => new Array(action.column_count).fill(value));

pane.actions = {
  setValues: (ctx, a) => { pane.rangeOf(ctx, a).values = a.values; },
  addSheet: (ctx, a) => { const s = ctx.workbook.worksheets.add(a.args[1] || undefined); s.position = a.args[0]; },
  setSheetName: (ctx, a) => { pane.sheetAt(ctx, a).name = a.args[0]; },
  sheetDelete: (ctx, a) => { pane.sheetAt(ctx, a).delete(); },
  activateSheet: (ctx, a) => { ctx.workbook.worksheets.items[a.args[0]].activate(); },
  setRangeColor: (ctx, a) => {
    const fill = pane.rangeOf(ctx, a).format.fill;
    if (a.args[0]) fill.color = a.args[0]; else fill.clear();
  },
  addNote: (ctx, a) => { pane.sheetAt(ctx, a).notes.add(a.args[0], a.args[1]); },
  setNoteText: (ctx, a) => { pane.sheetAt(ctx, a).notes.getItem(a.args[0]).content = a.args[1]; },
  deleteNote: (ctx, a) => { pane.sheetAt(ctx, a).notes.getItem(a.args[0]).delete(); },
  addHyperlink: (ctx, a) => {
    const target = String(a.args[0]);
    const link = target.startsWith("#") ? { documentReference: target.slice(1) } : { address: target };
    if (a.args[1]) link.textToDisplay = String(a.args[1]);
    if (a.args[2]) link.screenTip = String(a.args[2]);
    pane.rangeOf(ctx, a).hyperlink = link;
  },
  setNumberFormat: (ctx, a) => { pane.rangeOf(ctx, a).numberFormat = pane.fill(a, a.args[0]); },
  setAutofit: (ctx, a) => {
    const format = pane.rangeOf(ctx, a).format;
    if (a.args[0] === "rows") format.autofitRows(); else format.autofitColumns();
  },
  setColumnWidth: (ctx, a) => { pane.rangeOf(ctx, a).format.columnWidth = a.args[0]; },
  setFontProperty: (ctx, a) => { pane.rangeOf(ctx, a).format.font[a.args[0]] = a.args[1]; },
  addTable: (ctx, a) => {
    const table = pane.sheetAt(ctx, a).tables.add(a.args[0], a.args[1]);
    if (a.args[2]) table.style = a.args[2];
    if (a.args[3]) table.name = a.args[3];
  },
  setTableName: (ctx, a) => { pane.sheetAt(ctx, a).tables.getItemAt(a.args[0]).name = a.args[1]; },
  setTableStyle: (ctx, a) => { pane.sheetAt(ctx, a).tables.getItemAt(a.args[0]).style = a.args[1]; },
  rangeClearContents: (ctx, a) => { pane.rangeOf(ctx, a).clear("Contents"); },
  rangeClearFormats: (ctx, a) => { pane.rangeOf(ctx, a).clear("Formats"); },
  rangeClear: (ctx, a) => { pane.rangeOf(ctx, a).clear(); },
  freezePaneAtRange: (ctx, a) => { pane.sheetAt(ctx, a).freezePanes.freezeAt(a.args[0]); },
  alert: (ctx, a) => { pane.lastAlert = a.args[0] || null; pane.status([a.args[1], a.args[0]].filter(Boolean).join(": ")); },
};

pane.runActions = async function runActions(context, answer) {
  for (const action of answer.actions || []) {
    const handler = pane.actions[action.func];
    if (!handler) throw new Error("this version of the apxl pane cannot do '" + action.func + "': update apxl");
    // Positions move when sheets are added or deleted: reload the sheet list before each action.
    context.workbook.worksheets.load("items/name");
    await context.sync();
    handler(context, action);
    await context.sync();
  }
};

// ---- running a script --------------------------------------------------------------------------
pane.run = async function run(name, label) {
  pane.status((label || name) + ": working...");
  pane.lastAlert = null;
  const buttons = globalThis.document ? document.querySelectorAll("button") : [];
  buttons.forEach((b) => (b.disabled = true));
  try {
    await Excel.run(async (context) => {
      const payload = await pane.bookData(context);
      const headers = { "Content-Type": "application/json" };
      if (pane.config.token) headers["Authorization"] = "Bearer " + pane.config.token;
      const response = await fetch("/xlwings/custom-scripts-call/" + encodeURIComponent(name), {
        method: "POST",
        headers,
        body: JSON.stringify(payload),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(text || "the apxl server answered " + response.status);
      await pane.runActions(context, JSON.parse(text));
    });
    // Keep the script's own sentence (counts, where to look) in view after it finishes.
    pane.status((label || name) + ": done." + (pane.lastAlert ? " " + pane.lastAlert : ""));
  } catch (error) {
    pane.status((label || name) + ": " + (error && error.message ? error.message : error), true);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
};

pane.start = function start() {
  const box = document.getElementById("buttons");
  for (const script of pane.config.scripts || []) {
    const button = document.createElement("button");
    button.textContent = script.label;
    button.addEventListener("click", () => pane.run(script.name, script.label));
    box.appendChild(button);
    // Ribbon buttons (manifest ExecuteFunction) call the same scripts.
    if (Office.actions && Office.actions.associate) {
      Office.actions.associate(script.name, async (event) => {
        await pane.run(script.name, script.label);
        event.completed();
      });
    }
  }
};

if (globalThis.Office && Office.onReady) Office.onReady(() => pane.start());
