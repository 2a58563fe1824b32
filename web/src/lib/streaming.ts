// Live updates over Mastodon's streaming API (WebSocket). The token goes in the
// Sec-WebSocket-Protocol header, never in the URL (so no access log records it).

export interface StreamEvent {
  stream: string[];
  event: string;
  payload: unknown;
}

export type Listener = (event: StreamEvent) => void;

export interface Stream {
  /** Adds a subscription (e.g. `{stream: "hashtag", tag: "kopi"}`), kept across reconnects. */
  subscribe(subscription: Subscription): void;
  unsubscribe(subscription: Subscription): void;
  close(): void;
}

export interface Subscription {
  stream: string;
  tag?: string;
  list?: string;
}

/** Subscribes to `streams` ("user", "public:local", …), reconnecting with a backoff. */
export function connect(base: string, token: string, streams: string[], listener: Listener): Stream {
  let socket: WebSocket | null = null;
  let closed = false;
  let delay = 1000;
  const keyOf = (sub: Subscription) => `${sub.stream}|${sub.tag ?? ""}|${sub.list ?? ""}`;
  const subscriptions = new Map<string, Subscription>(streams.map((stream) => [keyOf({ stream }), { stream }]));
  const sendIfOpen = (message: object) => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  };

  const open = (): void => {
    socket = new WebSocket(`${base}/api/v1/streaming`, token);
    socket.onopen = () => {
      delay = 1000;
      for (const sub of subscriptions.values()) socket?.send(JSON.stringify({ type: "subscribe", ...sub }));
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
    subscribe(sub) {
      subscriptions.set(keyOf(sub), sub);
      sendIfOpen({ type: "subscribe", ...sub });
    },
    unsubscribe(sub) {
      subscriptions.delete(keyOf(sub));
      sendIfOpen({ type: "unsubscribe", ...sub });
    },
    close() {
      closed = true;
      socket?.close();
    },
  };
}
