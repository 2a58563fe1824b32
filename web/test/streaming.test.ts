import { describe, expect, it, vi } from "vitest";
import { connect, type StreamEvent } from "../src/lib/streaming";

class FakeSocket {
  static OPEN = 1;
  static made: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((message: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(
    readonly url: string,
    readonly protocol: string,
  ) {
    FakeSocket.made.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
    this.onclose?.();
  }
  open() {
    this.readyState = FakeSocket.OPEN;
    this.onopen?.();
  }
}

describe("streaming", () => {
  it("carries the token in the subprotocol, never the URL, and subscribes on open", () => {
    FakeSocket.made = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    const events: StreamEvent[] = [];
    const stream = connect("wss://social.example", "secret-token", ["user"], (e) => events.push(e));
    const socket = FakeSocket.made[0];
    expect(socket.url).toBe("wss://social.example/api/v1/streaming");
    expect(socket.url).not.toContain("secret-token");
    expect(socket.protocol).toBe("secret-token");

    socket.open();
    stream.subscribe({ stream: "hashtag", tag: "kopi" });
    expect(socket.sent).toEqual([
      { type: "subscribe", stream: "user" },
      { type: "subscribe", stream: "hashtag", tag: "kopi" },
    ]);

    socket.onmessage?.({ data: JSON.stringify({ stream: ["user"], event: "update", payload: '{"id":"7"}' }) });
    socket.onmessage?.({ data: JSON.stringify({ stream: ["user"], event: "delete", payload: "7" }) });
    socket.onmessage?.({ data: "not json" });
    expect(events).toEqual([
      { stream: ["user"], event: "update", payload: { id: "7" } },
      { stream: ["user"], event: "delete", payload: "7" },
    ]);
    stream.close();
  });

  it("reconnects after a drop and subscribes again to everything", () => {
    vi.useFakeTimers();
    FakeSocket.made = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    const stream = connect("ws://x", "t", ["user"], () => undefined);
    FakeSocket.made[0].open();
    stream.subscribe({ stream: "hashtag", tag: "kopi" });
    stream.unsubscribe({ stream: "hashtag", tag: "kopi" });
    stream.subscribe({ stream: "public:local" });
    FakeSocket.made[0].onclose?.();
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.made).toHaveLength(2);
    FakeSocket.made[1].open();
    expect(FakeSocket.made[1].sent).toEqual([
      { type: "subscribe", stream: "user" },
      { type: "subscribe", stream: "public:local" },
    ]);
    stream.close();
    vi.useRealTimers();
  });
});
