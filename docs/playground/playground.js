// The in-browser playground: an example's app runs in this page, in Pyodide.
//
// Loaded only when the reader clicks "Run in your browser" (the button's own
// handler imports this module), so a page costs nothing until then. Every file
// comes from this site: Pyodide, the bareasgi wheel, the example's files.
import { loadPyodide } from "./pyodide/pyodide.mjs";

const BASE = new URL("./", import.meta.url);
const HOME = "/home/pyodide/examples";
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
const OWN_PAGE =
  "Below the consoles is the example's own page. A static site has no server behind it: " +
  "a service worker hands each request of that page to the app running in this page, " +
  "and its WebSockets are opened with the app here too.";
const NO_WORKER =
  "This example has a page of its own, which needs a service worker to reach the app " +
  "running in this page; this browser did not start one, so the consoles stand in for it: ";
const STAND_INS =
  "A browser page cannot listen on a port: the app is not served by uvicorn or " +
  "hypercorn here, each request goes to it through bareasgi.testing.TestClient, " +
  "and the code under if __name__ == \"__main__\": does not run.";

let booted = null; // one Python per page, shared by every panel on it
let worker = null; // the service worker's registration, once per page
const servers = new Map(); // example name -> what answers its own page's requests
const runners = new Map(); // example name -> its Python Playground, for the pages' sockets
let sockets = 0; // numbers the own pages' WebSockets

// What websocket-shim.js, in an own page's frame, opens its sockets with.
window.bareasgiPlayground = {
  open(example, path, events) {
    const number = ++sockets;
    const runner = runners.get(example);
    if (runner) {
      Promise.resolve(runner.page_socket(number, path, events.open, events.message, events.close));
    } else {
      setTimeout(() => events.close(1011, "the app is not running"));
    }
    return number;
  },
  send(example, number, data) {
    const runner = runners.get(example);
    if (runner) Promise.resolve(runner.page_socket_send(number, data));
  },
  close(example, number, code, reason) {
    const runner = runners.get(example);
    return runner ? Promise.resolve(runner.page_socket_close(number, code, reason)) : Promise.resolve();
  },
};
let served = 0; // numbers the own pages' requests
let write = () => {}; // where Python's output goes: the log of the panel last started

async function bytes(path) {
  const response = await fetch(new URL(path, BASE));
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function boot() {
  booted ??= (async () => {
    const manifest = await (await fetch(new URL("manifest.json", BASE))).json();
    // The wheel and the runner download while Pyodide starts.
    const wheel = bytes(manifest.wheel);
    const packages = manifest.packages.map(bytes);
    const runner = bytes(manifest.runner);
    const pyodide = await loadPyodide({
      indexURL: new URL(manifest.pyodide, BASE).href,
      stdout: (text) => write(text + "\n"),
      stderr: (text) => write(text + "\n"),
    });
    const site = pyodide.runPython("import sysconfig; sysconfig.get_path('purelib')");
    pyodide.unpackArchive(await wheel, "wheel");
    for (const data of await Promise.all(packages)) {
      pyodide.unpackArchive(data, "zip", { extractDir: site });
    }
    pyodide.FS.writeFile(`${site}/playground_runner.py`, await runner);
    const module = pyodide.pyimport("playground_runner");
    module.set_output((text) => write(text));
    return { pyodide, manifest, module };
  })();
  return booted;
}

// The service worker that passes the own pages' requests on to this page.
function startWorker() {
  worker ??= (async () => {
    if (!("serviceWorker" in navigator)) throw new Error("no service worker in this browser");
    navigator.serviceWorker.addEventListener("message", (event) => {
      const data = event.data;
      if (data && data.type === "runs") event.ports[0].postMessage(servers.has(data.example));
      if (!data || data.type !== "request") return;
      const serve = servers.get(data.example);
      if (serve) serve(data, event.ports[0]);
      else event.ports[0].postMessage({ type: "error", text: `This page does not run ${data.example}.` });
    });
    const scope = new URL("app/", BASE).pathname;
    const registration = await navigator.serviceWorker.register(new URL("sw.js", BASE), { scope });
    const sw = registration.installing || registration.waiting || registration.active;
    if (sw.state !== "activated") {
      await new Promise((resolve) => {
        sw.addEventListener("statechange", () => sw.state === "activated" && resolve());
      });
    }
    return registration;
  })();
  return worker;
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function loadStyle() {
  if (document.querySelector("link[data-playground]")) return;
  const link = element("link", {
    rel: "stylesheet",
    href: new URL("playground.css", BASE).href,
    "data-playground": "",
  });
  document.head.append(link);
}

// The panel under the button: code, request console, WebSocket console, log.
function buildPanel(container, name) {
  const ui = {};
  ui.status = element("p", { class: "playground-status", role: "status" });
  ui.notes = element("div", { class: "playground-notes" });
  ui.code = element("textarea", {
    class: "playground-code",
    spellcheck: "false",
    "aria-label": `examples/${name}/app.py, editable`,
  });
  ui.run = element("button", { class: "md-button", type: "button", text: "Run" });
  ui.reset = element("button", { class: "md-button", type: "button", text: "Undo my edits" });
  ui.error = element("pre", { class: "playground-error", hidden: "" });

  ui.method = element("select", { class: "playground-method", "aria-label": "Method" });
  for (const method of METHODS) ui.method.append(element("option", { text: method }));
  ui.routes = element("datalist", { id: `playground-routes-${name}` });
  ui.path = element("input", {
    class: "playground-path",
    list: ui.routes.id,
    "aria-label": "Path",
    value: "/",
  });
  ui.headers = element("textarea", {
    class: "playground-headers",
    rows: "2",
    placeholder: "name: value, one a line",
    "aria-label": "Request headers",
  });
  ui.body = element("textarea", {
    class: "playground-body",
    rows: "2",
    placeholder: "request body",
    "aria-label": "Request body",
  });
  ui.send = element("button", { class: "md-button md-button--primary", type: "submit", text: "Send" });
  ui.stop = element("button", { class: "md-button", type: "button", text: "Stop", disabled: "" });
  ui.routeList = element("p", { class: "playground-routes" });
  ui.answerStatus = element("p", { class: "playground-answer-status" });
  ui.answerHeaders = element("pre", { class: "playground-answer-headers" });
  ui.answerBody = element("pre", { class: "playground-answer-body" });
  const form = element(
    "form",
    { class: "playground-request" },
    element("div", { class: "playground-row" }, ui.method, ui.path, ui.send, ui.stop),
    ui.routes,
    element("label", { text: "Headers" }, ui.headers),
    element("label", { text: "Body" }, ui.body),
  );

  ui.wsPath = element("input", { class: "playground-ws-path", "aria-label": "WebSocket path", value: "/ws" });
  ui.wsOpen = element("button", { class: "md-button", type: "button", text: "Connect" });
  ui.wsMessage = element("input", { class: "playground-ws-message", "aria-label": "Message", value: "Hello" });
  ui.wsSendText = element("button", { class: "md-button", type: "button", text: "Send text" });
  ui.wsSendBytes = element("button", { class: "md-button", type: "button", text: "Send bytes" });
  ui.wsCode = element("input", { class: "playground-ws-code", "aria-label": "Close code", value: "1000", size: "5" });
  ui.wsClose = element("button", { class: "md-button", type: "button", text: "Close" });
  ui.wsLog = element("ol", { class: "playground-ws-log" });
  ui.websocket = element(
    "section",
    { class: "playground-websocket", hidden: "" },
    element("h4", { text: "WebSocket console" }),
    element("div", { class: "playground-row" }, ui.wsPath, ui.wsOpen),
    element("div", { class: "playground-row" }, ui.wsMessage, ui.wsSendText, ui.wsSendBytes),
    element("div", { class: "playground-row" }, element("span", { text: "Close code" }), ui.wsCode, ui.wsClose),
    ui.wsLog,
  );
  ui.log = element("pre", { class: "playground-log" });

  const panel = element(
    "div",
    { class: "playground-panel" },
    ui.status,
    ui.notes,
    ui.error,
    // The answer first, where the reader looks after the click; the code is on the page above.
    element("section", { class: "playground-console" },
      element("div", { class: "playground-answer" }, ui.answerStatus, ui.answerHeaders, ui.answerBody),
      element("h4", { text: "Request console" }),
      ui.routeList,
      form),
    ui.websocket,
    element("details", { class: "playground-editor" },
      element("summary", { text: `Edit examples/${name}/app.py and run it again` }),
      ui.code,
      element("div", { class: "playground-row" }, ui.run, ui.reset)),
    element("details", {}, element("summary", { text: "Log (print and logging output)" }), ui.log),
  );
  container.append(panel);
  ui.panel = panel;
  ui.form = form;
  return ui;
}

function showError(ui, text) {
  ui.error.textContent = text;
  ui.error.hidden = false;
}

export async function start(container) {
  if (container.dataset.started) return;
  container.dataset.started = "1";
  const clickAt = performance.now();
  const name = container.dataset.example;
  loadStyle();
  const button = container.querySelector("button");
  button.disabled = true;
  const ui = buildPanel(container, name);
  write = (text) => ui.log.append(text);
  ui.status.textContent = "Starting Python in this page…";

  let python;
  try {
    python = await boot();
  } catch (error) {
    ui.status.textContent = "Python could not start in this page.";
    showError(ui, String(error));
    return;
  }
  const entry = python.manifest.examples[name];
  ui.notes.append(element("p", { text: STAND_INS }));
  const folder = `${HOME}/${name}`;
  for (const file of entry.files) {
    const path = `${folder}/${file}`;
    python.pyodide.FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
    python.pyodide.FS.writeFile(path, await bytes(`examples/${name}/${file}`));
  }
  const original = new TextDecoder().decode(python.pyodide.FS.readFile(`${folder}/app.py`));
  ui.code.value = original;
  ui.code.rows = Math.min(30, original.split("\n").length + 1);
  const playground = python.module.Playground(folder, JSON.stringify(entry.client || {}));
  runners.set(name, playground);

  let inflight = null;
  async function send(method, path, headers, body) {
    if (inflight) {
      await playground.stop();
      await inflight;
    }
    ui.answerStatus.textContent = `${method} ${path} …`;
    ui.answerHeaders.textContent = "";
    ui.answerBody.textContent = "";
    delete ui.answerStatus.dataset.status;
    ui.stop.disabled = false;
    const sentAt = performance.now();
    const onStart = (json) => {
      const start = JSON.parse(json);
      ui.answerStatus.textContent = `${method} ${path} → ${start.status}`;
      ui.answerStatus.dataset.status = start.status;
      if (!container.dataset.firstAnswerMs) {
        container.dataset.firstAnswerMs = String(Math.round(performance.now() - clickAt));
      }
      const lines = start.headers.map(([key, value]) => `${key}: ${value}`);
      for (const push of start.pushes) lines.push(`(pushed: ${push})`);
      ui.answerHeaders.textContent = lines.join("\n");
    };
    const onChunk = (text) => {
      const at = Math.round(performance.now() - sentAt);
      ui.answerBody.append(element("span", { class: "playground-chunk", "data-at": String(at), text }));
    };
    // A JS promise: the Python coroutine may be awaited only once, the promise many times.
    inflight = Promise.resolve(playground.request(method, path, headers, body, onStart, onChunk));
    const outcome = await inflight;
    inflight = null;
    ui.stop.disabled = true;
    if (outcome === "stopped") ui.answerBody.append(element("span", { class: "playground-stopped", text: "\n[stopped: the client went away]" }));
    else if (outcome) showError(ui, outcome);
    return outcome;
  }

  function showRoutes() {
    const routes = JSON.parse(playground.routes());
    ui.routes.replaceChildren();
    for (const [, path] of routes.http) ui.routes.append(element("option", { value: path }));
    ui.routeList.textContent = routes.http.length
      ? "Routes: " + routes.http.map(([methods, path]) => `${methods} ${path}`).join(", ")
      : "";
    ui.websocket.hidden = routes.websocket.length === 0;
    if (routes.websocket.length) ui.wsPath.value = routes.websocket[0];
    return routes;
  }

  function firstRequest(routes) {
    if (entry.first) return entry.first;
    const plain = routes.http.find(([methods, path]) => methods.split(" ").includes("GET") && !path.includes("{"));
    return { method: "GET", path: plain ? plain[1] : "/" };
  }

  let ownPageShown = false;
  async function run(source) {
    ui.error.hidden = true;
    ui.status.textContent = "Running app.py…";
    const failure = await playground.load(source);
    if (failure) {
      ui.status.textContent = "app.py did not start: the traceback is below. Fix it and Run again.";
      ui.error.closest(".playground-panel").querySelector(".playground-editor").open = true;
      showError(ui, failure);
      return;
    }
    const routes = showRoutes();
    if (ui.ownPage) ui.ownPage.src = ui.ownPage.src; // the page again, from the new app
    else if (!ownPageShown) {
      ownPageShown = true;
      await showOwnPage();
    }
    const first = firstRequest(routes);
    ui.method.value = first.method;
    ui.path.value = first.path;
    ui.headers.value = first.headers || "";
    ui.body.value = first.body || "";
    ui.status.textContent = "The app runs in this page. Its first request:";
    await send(first.method, first.path, ui.headers.value, ui.body.value);
  }

  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(ui.method.value, ui.path.value, ui.headers.value, ui.body.value);
  });
  ui.stop.addEventListener("click", async () => {
    await playground.stop();
  });
  ui.run.addEventListener("click", () => run(ui.code.value));
  // The example's own page, in a frame whose requests the service worker brings here.
  servers.set(name, async (data, port) => {
    const number = ++served;
    port.onmessage = ({ data: message }) => {
      if (message.type === "cancel") Promise.resolve(playground.cancel(number));
    };
    const problem = await playground.serve(
      number,
      data.method,
      data.path,
      JSON.stringify(data.headers),
      data.body ?? undefined, // undefined arrives in Python as None, null would not
      (json) => port.postMessage({ type: "start", ...JSON.parse(json) }),
      (bytes) => port.postMessage({ type: "chunk", bytes }),
    );
    port.postMessage(problem ? { type: "error", text: problem } : { type: "end" });
  });
  async function showOwnPage() {
    if (!entry.own_page) return;
    if (entry.own_page_not_served) {
      ui.notes.append(element("p", { text: entry.own_page_not_served }));
      return;
    }
    try {
      const registration = await startWorker();
      registration.active.postMessage({ type: "page", example: name });
    } catch (error) {
      ui.notes.append(element("p", { text: NO_WORKER + error }));
      return;
    }
    ui.notes.append(element("p", { text: OWN_PAGE }));
    ui.ownPage = element("iframe", {
      class: "playground-own-page",
      title: `The page of examples/${name}, answered by the app in this page`,
      src: new URL(`app/${name}/`, BASE).href,
    });
    ui.panel.append(element("h4", { text: "The example's own page" }), ui.ownPage);
  }

  ui.reset.addEventListener("click", () => {
    ui.code.value = original;
  });
  ui.code.addEventListener("keydown", (event) => {
    if (event.key !== "Tab" || event.shiftKey) return;
    event.preventDefault();
    ui.code.setRangeText("    ", ui.code.selectionStart, ui.code.selectionEnd, "end");
  });

  const wsNote = (kind, text) => ui.wsLog.append(element("li", { class: `playground-ws-${kind}`, text }));
  ui.wsOpen.addEventListener("click", async () => {
    const problem = await playground.ws_open(
      ui.wsPath.value,
      (json) => {
        const message = JSON.parse(json);
        wsNote("received", `← ${message.kind === "bytes" ? "(bytes) " : ""}${message.data}`);
      },
      (text) => wsNote("closed", text),
    );
    wsNote(problem ? "closed" : "opened", problem || `Connected to ${ui.wsPath.value}`);
  });
  const wsSend = async (binary) => {
    const problem = await playground.ws_send(ui.wsMessage.value, binary);
    wsNote(problem ? "closed" : "sent", problem || `→ ${binary ? "(bytes) " : ""}${ui.wsMessage.value}`);
  };
  ui.wsSendText.addEventListener("click", () => wsSend(false));
  ui.wsSendBytes.addEventListener("click", () => wsSend(true));
  ui.wsClose.addEventListener("click", async () => {
    const text = await playground.ws_close(Number(ui.wsCode.value) || 1000);
    if (text) wsNote("closed", text);
  });

  button.textContent = "Running in your browser";
  await run(original);
}
