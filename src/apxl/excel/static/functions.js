// apxl custom functions for Excel (Office.js). Written for apxl; MIT licence.
// Each APXL.* function sends its arguments to the apxl server, which answers in xlwings Server's
// format ({"result": [[...]]}). Calls made in one recalculation are sent together in batches, so a
// column of 2,000 =APXL.CHECK(...) formulas is one request, not 2,000.
// The server fills in the quoted placeholders below (origin, version, token, functions) when it serves this file.
"use strict";

const apxl = (globalThis.apxl = globalThis.apxl || {});
apxl.config = {
  origin: "${origin}",
  version: "${version}",
  token: "${token}",
  batchPath: "/xlwings/custom-functions-batch",
  maxBatch: 2000,
  waitMs: 15,
};

apxl.runtime = function runtime() {
  // Formatted numbers and dates with notes need custom-functions runtime 1.4.
  try {
    const req = globalThis.Office && Office.context && Office.context.requirements;
    if (req) {
      for (const v of ["1.4", "1.3", "1.2"]) {
        if (req.isSetSupported("CustomFunctionsRuntime", v)) return v;
      }
    }
  } catch (e) {
    // Office.context is not ready yet: assume the oldest runtime.
  }
  return "1.1";
};

apxl.baseUrl = function baseUrl() {
  const loc = globalThis.location;
  if (loc && loc.origin && loc.origin !== "null") return loc.origin;
  return apxl.config.origin;
};

apxl.headers = function headers() {
  const h = { "Content-Type": "application/json" };
  const token = apxl.config.token || (globalThis.localStorage && localStorage.getItem("apxl-token")) || "";
  if (token) h["Authorization"] = "Bearer " + token;
  return h;
};

apxl.queue = [];
apxl.timer = null;

apxl.flush = async function flush() {
  apxl.timer = null;
  while (apxl.queue.length > 0) {
    const batch = apxl.queue.splice(0, apxl.config.maxBatch);
    let answer;
    try {
      const response = await fetch(apxl.baseUrl() + apxl.config.batchPath, {
        method: "POST",
        headers: apxl.headers(),
        body: JSON.stringify({ calls: batch.map((item) => item.body) }),
      });
      if (!response.ok) {
        const text = (await response.text()).slice(0, 200);
        throw new Error("the apxl server answered " + response.status + (text ? ": " + text : ""));
      }
      answer = await response.json();
    } catch (error) {
      const why = String(error && error.message ? error.message : error);
      const text = why.includes("answered") ? why : "cannot reach the apxl server (" + why + "): is apxl serve running?";
      batch.forEach((item) => item.resolve([["APXL: " + text]]));
      continue;
    }
    batch.forEach((item, i) => item.resolve(answer.results[i]));
  }
};

apxl.call = function call(funcName, args, invocation) {
  const body = {
    func_name: funcName,
    args: args.map((a) => (a === undefined ? null : a)),
    caller_address: invocation && invocation.address ? invocation.address : null,
    client: "Office.js",
    version: apxl.config.version,
    runtime: apxl.runtime(),
    culture_info_name: globalThis.Office && Office.context ? Office.context.contentLanguage || null : null,
  };
  return new Promise((resolve) => {
    apxl.queue.push({ body, resolve });
    if (apxl.queue.length >= apxl.config.maxBatch) {
      if (apxl.timer) clearTimeout(apxl.timer);
      apxl.flush();
    } else if (!apxl.timer) {
      apxl.timer = setTimeout(apxl.flush, apxl.config.waitMs);
    }
  });
};

apxl.register = function register(names) {
  for (const name of names) {
    // Excel passes the declared parameters, then the invocation (the metadata asks for addresses).
    CustomFunctions.associate(name, function () {
      const all = Array.prototype.slice.call(arguments);
      const invocation = all.length ? all[all.length - 1] : null;
      return apxl.call(name, all.slice(0, -1), invocation);
    });
  }
};

apxl.register(${functions});
