// Stands in for WebSocket in an example's own page shown by the playground.
//
// The page runs in a frame of the docs page, which runs the example's app in Pyodide. A
// service worker cannot pass a WebSocket on, so the service worker puts this script first
// in the page: each socket the page opens is a session with the app next door, through
// bareasgi.testing.TestClient, with the events and methods of a browser WebSocket.
(() => {
  const host = window.parent.bareasgiPlayground;
  const prefix = "/app/";
  const after = location.pathname.slice(location.pathname.indexOf(prefix) + prefix.length);
  const example = after.split("/")[0];
  const root = location.pathname.slice(0, location.pathname.indexOf(prefix) + prefix.length) + example;

  class PlaygroundWebSocket extends EventTarget {
    static CONNECTING = 0;
    static OPEN = 1;
    static CLOSING = 2;
    static CLOSED = 3;

    constructor(url) {
      super();
      const target = new URL(url, location.href);
      this.url = target.href;
      this.readyState = PlaygroundWebSocket.CONNECTING;
      this.protocol = "";
      this.extensions = "";
      this.binaryType = "blob";
      this.bufferedAmount = 0;
      const path = (target.pathname.slice(root.length) || "/") + target.search;
      this._number = host.open(example, path, {
        open: (protocol) => {
          this.protocol = protocol;
          this.readyState = PlaygroundWebSocket.OPEN;
          this._emit(new Event("open"));
        },
        message: (data) => {
          const binary = typeof data === "string" ? data : this.binaryType === "arraybuffer"
            ? data.slice().buffer
            : new Blob([data]);
          this._emit(new MessageEvent("message", { data: binary }));
        },
        close: (code, reason) => this._closed(code, reason),
      });
    }

    _emit(event) {
      this.dispatchEvent(event);
      const handler = this["on" + event.type];
      if (typeof handler === "function") handler.call(this, event);
    }

    _closed(code, reason) {
      if (this.readyState === PlaygroundWebSocket.CLOSED) return;
      this.readyState = PlaygroundWebSocket.CLOSED;
      this._emit(new CloseEvent("close", { code, reason, wasClean: true }));
    }

    async send(data) {
      if (this.readyState !== PlaygroundWebSocket.OPEN) throw new DOMException("not open", "InvalidStateError");
      const message = typeof data === "string" ? data
        : data instanceof Blob ? new Uint8Array(await data.arrayBuffer())
        : new Uint8Array(ArrayBuffer.isView(data) ? data.buffer : data);
      host.send(example, this._number, message);
    }

    async close(code = 1000, reason = "") {
      if (this.readyState >= PlaygroundWebSocket.CLOSING) return;
      this.readyState = PlaygroundWebSocket.CLOSING;
      await host.close(example, this._number, code, reason);
      this._closed(code, reason);
    }
  }

  window.WebSocket = PlaygroundWebSocket;
})();
