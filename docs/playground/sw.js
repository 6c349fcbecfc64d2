// The playground's service worker: it answers an example's own page from the app that runs
// in the reader's docs page, so that the example's page works with no server behind the site.
//
// Its scope is playground/app/: a request for playground/app/NAME/PATH is sent, through a
// MessageChannel, to the docs page that runs example NAME in Pyodide, which answers it with
// bareasgi.testing.TestClient; the answer streams back chunk by chunk (server-sent events
// keep flowing). WebSockets never pass through a service worker: into each HTML page it
// puts websocket-shim.js first, which opens the page's sockets in the docs page instead.
const pages = new Map(); // example name -> id of the docs page that runs it
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "page") pages.set(event.data.example, event.source.id);
});

self.addEventListener("fetch", (event) => {
  const scope = new URL(self.registration.scope);
  const url = new URL(event.request.url);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  const [example, ...rest] = url.pathname.slice(scope.pathname.length).split("/");
  event.respondWith(answer(event.request, example, "/" + rest.join("/") + url.search));
});

// The docs page that runs `example`. The one that said so is remembered, but a message
// may reach the worker after the frame's first request, and a browser stops an idle
// worker, losing what it remembered: then every open window is asked, the docs pages
// included, which lie outside the worker's scope (uncontrolled).
async function pageFor(example) {
  const known = pages.has(example) ? await self.clients.get(pages.get(example)) : undefined;
  if (known) return known;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const answers = windows.map(
    (client) =>
      new Promise((resolve) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = ({ data }) => resolve(data === true ? client : undefined);
        client.postMessage({ type: "runs", example }, [channel.port2]);
        setTimeout(() => resolve(undefined), 2000); // a window that cannot answer
      }),
  );
  const page = (await Promise.all(answers)).find((client) => client !== undefined);
  if (page) pages.set(example, page.id);
  return page;
}

async function answer(request, example, path) {
  const page = await pageFor(example);
  if (!page) {
    const text = "No docs page runs this example now: click Run in your browser on its page.\n";
    return new Response(text, { status: 503, headers: { "content-type": "text/plain" } });
  }
  const body = ["GET", "HEAD"].includes(request.method)
    ? null
    : new Uint8Array(await request.arrayBuffer());
  const channel = new MessageChannel();
  const message = {
    type: "request",
    example,
    method: request.method,
    path,
    headers: [...request.headers],
    body,
  };
  page.postMessage(message, [channel.port2]);
  return new Promise((resolve) => {
    let controller;
    const stream = new ReadableStream({
      start(c) {
        controller = c;
      },
      cancel() {
        channel.port1.postMessage({ type: "cancel" }); // the page went away: so does the client
      },
    });
    let html = null; // an HTML page's chunks, kept until it ends to put the shim in
    let init = null;
    channel.port1.onmessage = ({ data }) => {
      if (data.type === "start") {
        init = { status: data.status, headers: data.headers };
        const type = data.headers.find(([name]) => name.toLowerCase() === "content-type");
        if (type && type[1].startsWith("text/html")) html = [];
        else resolve(new Response(NULL_BODY.has(data.status) ? null : stream, init));
      } else if (data.type === "chunk") {
        if (html) html.push(data.bytes);
        else controller.enqueue(data.bytes);
      } else if (data.type === "end") {
        if (html) resolve(withShim(html, init));
        else controller.close();
      } else if (data.type === "error") {
        resolve(new Response(data.text, { status: 500, headers: { "content-type": "text/plain" } }));
        controller.error(new Error(data.text));
      }
    };
  });
}

function withShim(chunks, init) {
  const text = new TextDecoder().decode(concat(chunks));
  const shim = `<script src="${new URL("../websocket-shim.js", self.registration.scope).pathname}"></script>`;
  const head = /<head[^>]*>/i.exec(text);
  const at = head ? head.index + head[0].length : 0;
  const page = text.slice(0, at) + shim + text.slice(at);
  const headers = init.headers.filter(([name]) => name.toLowerCase() !== "content-length");
  return new Response(page, { status: init.status, headers });
}

function concat(chunks) {
  const all = new Uint8Array(chunks.reduce((size, chunk) => size + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}
