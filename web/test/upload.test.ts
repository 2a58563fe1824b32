import { describe, expect, it, vi } from "vitest";
import { setToken } from "../src/lib/api";
import { upload } from "../src/lib/upload";

/** A stand-in for the browser's XMLHttpRequest: records the request, reports progress, answers. */
class FakeXhr {
  static last: FakeXhr | null = null;
  static answer: { status: number; body: unknown } = { status: 200, body: {} };
  method = "";
  url = "";
  headers: Record<string, string> = {};
  body: FormData | null = null;
  status = 0;
  statusText = "";
  responseText = "";
  upload: { onprogress: ((event: { lengthComputable: boolean; loaded: number; total: number }) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
    FakeXhr.last = this;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  abort() {
    this.onabort?.();
  }
  send(body: FormData) {
    this.body = body;
    queueMicrotask(() => {
      this.upload.onprogress?.({ lengthComputable: true, loaded: 50, total: 100 });
      this.upload.onprogress?.({ lengthComputable: true, loaded: 100, total: 100 });
      this.status = FakeXhr.answer.status;
      this.responseText = JSON.stringify(FakeXhr.answer.body);
      this.onload?.();
    });
  }
}

describe("media upload", () => {
  it("reports progress, sends the token in the header, returns an image processed at once", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    setToken("secret");
    FakeXhr.answer = { status: 200, body: { id: "9", url: "/media/9.png", type: "image" } };
    const progress: number[] = [];
    const media = await upload(new File(["x"], "a.png", { type: "image/png" }), { onProgress: (p) => progress.push(p) });
    expect(media.id).toBe("9");
    expect(progress).toEqual([0.5, 1, 1]);
    expect(FakeXhr.last!.method).toBe("POST");
    expect(FakeXhr.last!.url).toBe("/api/v2/media");
    expect(FakeXhr.last!.headers.Authorization).toBe("Bearer secret");
    expect(FakeXhr.last!.url).not.toContain("secret");
    expect((FakeXhr.last!.body!.get("file") as File).name).toBe("a.png");
    setToken(null);
  });

  it("polls a file still processing (202, then 206) until it is ready (200)", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    FakeXhr.answer = { status: 202, body: { id: "10", url: null, type: "video" } };
    const answers = [206, 206, 200];
    const fetch = vi.fn(async (_url: string) => {
      const status = answers.shift()!;
      return new Response(JSON.stringify({ id: "10", url: status === 200 ? "/media/10.mp4" : null }), { status });
    });
    vi.stubGlobal("fetch", fetch);
    const media = await upload(new File(["x"], "v.mp4"), { pollEvery: 1 });
    expect(media.url).toBe("/media/10.mp4");
    expect(fetch).toHaveBeenCalledTimes(3);
    expect(fetch.mock.calls[0]![0]).toBe("/api/v1/media/10");
  });

  it("gives the server's refusal as its message", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    FakeXhr.answer = { status: 422, body: { error: "Validation failed: file: is not a supported file type" } };
    await expect(upload(new File(["x"], "a.svg"))).rejects.toMatchObject({
      status: 422,
      message: "Validation failed: file: is not a supported file type",
    });
  });
});
