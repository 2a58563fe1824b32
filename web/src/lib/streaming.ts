// Live updates over Mastodon's streaming API (WebSocket). The token goes in the
// Sec-WebSocket-Protocol header, never in the URL (so no access log records it).

export interface StreamEvent {
  stream: string[];
  event: string;
  payload: unknown;
}

export type Listener = (event: StreamEvent) => void;

export interface Stream {
  close(): void;
}

/** Subscribes to `streams` ("user", "public:local", …), reconnecting with a backoff. */
export function connect(base: string, token: string, streams: string[], listener: Listener): Stream {
  let socket: WebSocket | null = null;
  let closed = false;
  let delay = 1000;

  const open = () => {
    socket = new WebSocket(`${base}/api/v1/streaming`, token);
    socket.onopen = () => {
      delay = 1000;
      for (const stream of streams) socket?.send(JSON.stringify({ type: "subscribe", stream }));
    };
    socket.onmessage = (message) => {
      try {
        const data = JSON.parse(String(message.data)) as { stream?: string[]; event: string; payload?: string };
        if (!data.event) return;
        let payload: unknown = data.payload;
        if (typeof payload === "string" && (payload.startsWith("{") || payload.startsWith("["))) {
          payload = JSON.parse(payload);
        }
        listener({ stream: data.stream ?? [], event: data.event, payload });
      } catch {
        // a malformed frame is ignored
      }
    };
    socket.onclose = () => {
      if (closed) return;
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    };
  };
  open();
  return {
    close() {
      closed = true;
      socket?.close();
    },
  };
}
