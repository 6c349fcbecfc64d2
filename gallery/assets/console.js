// The request console's behaviour: fill the form from a route, send the request with
// fetch and show the answer chunk by chunk as the stream delivers it, and talk to a
// WebSocket route. Plain DOM code: the gallery works with no outside library.
"use strict";

const base = document.body.dataset.base;
const byId = (id) => document.getElementById(id);
const BODYLESS = new Set(["GET", "HEAD"]);

function parseHeaders(text) {
  const headers = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    const colon = line.indexOf(":");
    if (colon < 1) throw new Error(`"${line}" is not a header: write it as name: value`);
    headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return headers;
}

function shellQuote(text) {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : "'" + text.replace(/'/g, "'\\''") + "'";
}

// A path template's first {variable}, selected so that typing replaces it.
function selectVariable(input) {
  const start = input.value.indexOf("{");
  const end = input.value.indexOf("}", start);
  input.focus();
  if (start >= 0 && end > start) input.setSelectionRange(start, end + 1);
}

function markActive(button) {
  for (const other of document.querySelectorAll(".routes button")) {
    if (other.classList.contains("socket") === button.classList.contains("socket")) {
      other.setAttribute("aria-pressed", String(other === button));
    }
  }
}

// --- HTTP -------------------------------------------------------------------------------

const form = byId("request");
const method = byId("method");
const path = byId("path");
const headersInput = byId("headers");
const bodyInput = byId("body");
const status = byId("status");
const responseHeaders = byId("response-headers");
const responseBody = byId("response-body");
const chunksNote = byId("chunks");
const sendButton = byId("send");
const stopButton = byId("stop");
let controller = null;

function updateCurl() {
  const args = ["curl", "-i"];
  if (method.value === "HEAD") args[1] = "--head";
  else if (method.value !== "GET") args.push("-X", method.value);
  try {
    for (const [name, value] of parseHeaders(headersInput.value)) {
      args.push("-H", shellQuote(`${name}: ${value}`));
    }
  } catch {
    // The form says what is wrong with the headers when it is sent.
  }
  if (!BODYLESS.has(method.value) && bodyInput.value) {
    args.push("--data-binary", shellQuote(bodyInput.value));
  }
  args.push(shellQuote(location.origin + base + path.value));
  byId("curl").textContent = args.join(" ");
}

function updateForm() {
  const bodyless = BODYLESS.has(method.value);
  bodyInput.disabled = bodyless;
  byId("body-note").textContent = bodyless ? `(${method.value} sends none)` : "";
  updateCurl();
}

function chooseRoute(button, focus) {
  // A route may use a method the list does not offer: it is added.
  if (![...method.options].some((option) => option.value === button.dataset.method)) {
    method.add(new Option(button.dataset.method));
  }
  method.value = button.dataset.method;
  path.value = button.dataset.path;
  const hint = byId("hint");
  hint.textContent = button.dataset.hint ? `Replace ${button.dataset.hint}.` : "";
  hint.hidden = !button.dataset.hint;
  if (!BODYLESS.has(method.value) && !headersInput.value.trim()) {
    headersInput.value = "content-type: application/json";
  }
  markActive(button);
  updateForm();
  if (focus) selectVariable(path);
}

function showStatus(text, kind) {
  status.textContent = text;
  status.className = `status ${kind || ""}`;
}

function finish() {
  controller = null;
  sendButton.disabled = false;
  stopButton.disabled = true;
}

async function readBody(response, started) {
  responseBody.replaceChildren();
  responseBody.hidden = false;
  if (!response.body) {
    responseBody.hidden = true;
    chunksNote.textContent = "No body.";
    return;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let count = 0;
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      count += 1;
      size += value.length;
      const chunk = document.createElement("span");
      chunk.className = "chunk";
      const at = Math.round(performance.now() - started);
      chunk.title = `chunk ${count}: ${value.length} bytes, ${at} ms after sending`;
      chunk.textContent = decoder.decode(value, { stream: true });
      responseBody.append(chunk);
      chunksNote.textContent = `${count} chunk${count === 1 ? "" : "s"}, ${size} bytes so far…`;
    }
    responseBody.append(decoder.decode());
    const took = Math.round(performance.now() - started);
    chunksNote.textContent = size
      ? `${size} bytes in ${count} chunk${count === 1 ? "" : "s"}, complete after ${took} ms.`
      : "Empty body.";
    if (!size) responseBody.hidden = true;
  } catch (error) {
    chunksNote.textContent = error.name === "AbortError"
      ? `Stopped after ${count} chunks (${size} bytes): the connection was closed.`
      : `The body broke off after ${size} bytes: ${error.message}`;
  }
}

async function send(event) {
  event.preventDefault();
  let headers;
  try {
    headers = parseHeaders(headersInput.value);
  } catch (error) {
    showStatus(error.message, "error");
    return;
  }
  controller = new AbortController();
  sendButton.disabled = true;
  stopButton.disabled = false;
  responseHeaders.hidden = true;
  responseBody.hidden = true;
  chunksNote.textContent = "";
  showStatus(`Sending ${method.value} ${base}${path.value} …`, "pending");
  // On a narrow screen the answer is below the form: bring it into view.
  if (window.matchMedia("(max-width: 900px)").matches) {
    byId("response").scrollIntoView({ behavior: "smooth", block: "start" });
  }
  const init = { method: method.value, headers, signal: controller.signal, cache: "no-store" };
  if (!BODYLESS.has(method.value)) init.body = bodyInput.value;
  const started = performance.now();
  try {
    const response = await fetch(base + path.value, init);
    const took = Math.round(performance.now() - started);
    const reason = response.statusText ? ` ${response.statusText}` : "";
    const moved = response.redirected ? `, after a redirect to ${response.url}` : "";
    showStatus(`${response.status}${reason}: headers after ${took} ms${moved}`,
      `s${String(response.status)[0]}`);
    responseHeaders.textContent = [...response.headers]
      .map(([name, value]) => `${name}: ${value}`).join("\n");
    responseHeaders.hidden = false;
    await readBody(response, started);
  } catch (error) {
    showStatus(error.name === "AbortError" ? "Stopped before an answer came."
      : `The request failed: ${error.message}`, "error");
  } finally {
    finish();
  }
}

form.addEventListener("submit", send);
stopButton.addEventListener("click", () => controller && controller.abort());
for (const input of [method, path, headersInput, bodyInput]) {
  input.addEventListener("input", input === method ? updateForm : updateCurl);
}
const httpRoutes = document.querySelectorAll(".routes button.route");
for (const button of httpRoutes) {
  button.addEventListener("click", () => chooseRoute(button, true));
}
if (httpRoutes.length) chooseRoute(httpRoutes[0], false);
else updateForm();

// --- WebSocket ----------------------------------------------------------------------------

const wsPath = byId("ws-path");
const wsStatus = byId("ws-status");
const wsMessage = byId("ws-message");
const wsLog = byId("ws-log");
let socket = null;

function wsState(text, open) {
  wsStatus.textContent = text;
  wsMessage.disabled = !open;
  byId("ws-submit").disabled = !open;
  byId("ws-close").disabled = !open;
  byId("ws-open").disabled = open;
}

function logMessage(direction, text) {
  const item = document.createElement("li");
  item.className = direction;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = direction === "sent" ? "sent" : "received";
  item.append(who, document.createTextNode(text));
  wsLog.append(item);
  item.scrollIntoView({ block: "nearest" });
}

function connect(event) {
  event.preventDefault();
  const url = new URL(base + wsPath.value, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  wsState(`Connecting to ${url.pathname} …`, false);
  byId("ws-open").disabled = true;
  socket.addEventListener("open", () => wsState(`Connected to ${url.pathname}.`, true));
  socket.addEventListener("message", (message) => {
    const text = typeof message.data === "string" ? message.data
      : `(${message.data.byteLength} bytes of binary data)`;
    logMessage("received", text);
  });
  socket.addEventListener("close", (closed) => {
    const reason = closed.reason ? `: ${closed.reason}` : "";
    wsState(`Closed, code ${closed.code}${reason}.`, false);
    socket = null;
  });
}

if (wsPath) {
  byId("ws-connect").addEventListener("submit", connect);
  byId("ws-close").addEventListener("click", () => socket && socket.close(1000, "closed here"));
  byId("ws-send").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!socket || !wsMessage.value) return;
    socket.send(wsMessage.value);
    logMessage("sent", wsMessage.value);
    wsMessage.value = "";
  });
  const sockets = document.querySelectorAll(".routes button.socket");
  for (const button of sockets) {
    button.addEventListener("click", () => {
      wsPath.value = button.dataset.path;
      markActive(button);
      selectVariable(wsPath);
    });
  }
  if (sockets.length) {
    wsPath.value = sockets[0].dataset.path;
    markActive(sockets[0]);
  }
}
