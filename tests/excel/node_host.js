// A stand-in for Excel's custom-functions host: loads the JavaScript `apxl serve` serves and calls it
// the way Excel does (declared parameters as matrices, then an invocation object). Prints JSON results.
"use strict";
const vm = require("vm");

const base = process.argv[2];
const token = process.argv[3] || "";
const deadline = setTimeout(() => { console.error("timed out"); process.exit(3); }, 60000);

const registry = {};
globalThis.CustomFunctions = {
  associate: (name, fn) => { registry[name] = fn; },
  ErrorCode: { invalidValue: "#VALUE!" },
  Error: class extends Error {},
};
globalThis.Office = {
  context: {
    contentLanguage: "en-GB",
    requirements: { isSetSupported: (set, version) => set === "CustomFunctionsRuntime" && Number(version) <= 1.4 },
  },
};

const serial = (iso) => Math.round((Date.parse(iso + "T00:00:00Z") - Date.UTC(1899, 11, 30)) / 86400000);
const inv = (address) => ({ address });

(async () => {
  const headers = token ? { Authorization: "Bearer " + token } : {};
  const code = await (await fetch(base + "/xlwings/custom-functions-code", { headers })).text();
  vm.runInThisContext(code, { filename: "custom-functions-code.js" });
  if (process.argv[4] !== undefined) globalThis.apxl.config.token = process.argv[4]; // e.g. a server restarted with a new token
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const spec = JSON.parse(input);
  const out = {};
  // Start every call before awaiting any, as Excel does in one recalculation: the code batches them.
  const pending = spec.map((c) => registry[c.name](...c.args.map((a) => (a && a.serial ? [[serial(a.serial)]] : a)), inv(c.address || "Sheet1!A1")));
  const results = await Promise.all(pending);
  spec.forEach((c, i) => { out[c.key] = results[i]; });
  out.registered = Object.keys(registry).sort();
  console.log(JSON.stringify(out));
  clearTimeout(deadline);
})().catch((e) => { console.error(String(e)); process.exit(2); });
