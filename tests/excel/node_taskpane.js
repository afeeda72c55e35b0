// Runs the task pane's JavaScript (taskpane.js as served) under Node with a stand-in for Excel's
// object model: reads a workbook into xlwings' request format, posts it to the apxl server's script
// route and applies the answered actions to the stand-in. Prints what happened as JSON.
"use strict";
const vm = require("vm");

const [base, token, script] = process.argv.slice(2);
const deadline = setTimeout(() => { console.error("timed out"); process.exit(3); }, 60000);
const log = [];

class FakeRange {
  constructor(sheet, r, c, nr, nc) {
    Object.assign(this, { sheet, r, c, nr, nc });
    const self = this;
    this.format = {
      fill: { set color(v) { log.push(["fill", self.where(), v]); }, clear() { log.push(["fill", self.where(), null]); } },
      font: new Proxy({}, { set(_, k, v) { log.push(["font", self.where(), k, v]); return true; } }),
      set columnWidth(v) { log.push(["width", self.where(), v]); },
      autofitColumns() {}, autofitRows() {},
    };
  }
  where() { return this.sheet.name + "!R" + (this.r + 1) + "C" + (this.c + 1); }
  set values(v) {
    log.push(["values", this.where(), v]);
    v.forEach((row, i) => row.forEach((x, j) => this.sheet.put(this.r + i, this.c + j, x)));
  }
  set numberFormat(v) { log.push(["numberFormat", this.where(), v[0][0]]); }
  set hyperlink(v) { log.push(["hyperlink", this.where(), v]); }
  clear(kind) { log.push(["clear", this.where(), kind || "All"]); }
}

class FakeSheet {
  constructor(book, name, values, categories) {
    Object.assign(this, { book, name, grid: values || [], categories });
    this.notes = { items: [], load() { return this; }, add: (a, t) => log.push(["note", this.name, a, t]), getItem: (a) => ({ delete: () => log.push(["noteDelete", this.name, a]) }) };
    this.tables = { items: [], load() { return this; }, add: (a, h) => { log.push(["table", this.name, a, h]); return {}; }, getItemAt: () => ({}) };
    this.freezePanes = { freezeAt: (a) => log.push(["freeze", this.name, a]) };
  }
  get position() { return this.book.items.indexOf(this); }
  set position(p) { const items = this.book.items; items.splice(items.indexOf(this), 1); items.splice(p, 0, this); }
  put(r, c, x) { while (this.grid.length <= r) this.grid.push([]); this.grid[r][c] = x; }
  getUsedRangeOrNullObject() {
    const rows = this.grid.length, cols = Math.max(0, ...this.grid.map((r) => r.length));
    const values = this.grid.map((r) => Array.from({ length: cols }, (_, j) => (r[j] === undefined ? "" : r[j])));
    const categories = values.map((r, i) => r.map((_, j) => (this.categories && this.categories[i] && this.categories[i][j]) || "General"));
    return { isNullObject: rows === 0, values, rowIndex: 0, columnIndex: 0, numberFormatCategories: categories, load() { return this; } };
  }
  getRangeByIndexes(r, c, nr, nc) { return new FakeRange(this, r, c, nr, nc); }
  activate() { log.push(["activate", this.name]); }
  delete() { log.push(["deleteSheet", this.name]); this.book.items.splice(this.book.items.indexOf(this), 1); }
  load() { return this; }
}

function fakeContext(sheets) {
  const worksheets = {
    items: [],
    load() { return this; },
    add(name) { const s = new FakeSheet(worksheets, name, []); worksheets.items.push(s); log.push(["addSheet", name]); return s; },
    getActiveWorksheet() { return { position: 0, load() { return this; } }; },
  };
  for (const s of sheets) worksheets.items.push(new FakeSheet(worksheets, s.name, s.values, s.categories));
  return {
    workbook: { name: "register.xlsx", worksheets, load() {}, getSelectedRange: () => ({ address: "Placements!A1", load() { return this; } }) },
    sync: async () => {},
  };
}

globalThis.document = {
  getElementById: (id) => (id === "apxl-config" ? { textContent: JSON.stringify({ version: process.env.XLWINGS_VERSION, token, scripts: [] }) } : null),
  querySelectorAll: () => [],
};
globalThis.Office = { context: { requirements: { isSetSupported: () => true } } };

(async () => {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const sheets = JSON.parse(input);
  const headers = { Authorization: "Bearer " + token };
  vm.runInThisContext(await (await fetch(base + "/taskpane.js", { headers })).text(), { filename: "taskpane.js" });
  const pane = globalThis.apxlPane;
  pane.status = (text, isError) => log.push(["status", text, Boolean(isError)]);
  const context = fakeContext(sheets);
  globalThis.Excel = { run: async (fn) => fn(context) };
  const realFetch = globalThis.fetch;
  globalThis.fetch = (url, options) => realFetch(base + url, options); // the pane posts to its own origin
  let payload = null;
  const post = globalThis.fetch;
  globalThis.fetch = async (url, options) => { payload = JSON.parse(options.body); return post(url, options); };
  await pane.run(script, script);
  const status = log.length ? null : "no actions";
  console.log(JSON.stringify({ payload, log, sheets: context.workbook.worksheets.items.map((s) => s.name), status }));
  clearTimeout(deadline);
})().catch((e) => { console.error(String(e && e.stack ? e.stack : e)); process.exit(2); });
