// Media upload with progress: POST /api/v2/media through XMLHttpRequest (fetch cannot
// report upload progress), then GET /api/v1/media/:id until processing is done (206 while
// processing, 200 when ready), as Mastodon's clients do.

import { ApiError, api, currentToken, type MediaAttachment } from "./api";

export interface UploadOptions {
  description?: string;
  onProgress?: (fraction: number) => void;
  /** Time between polls while the server processes the file (ms). */
  pollEvery?: number;
  signal?: AbortSignal;
}

function send(file: File, options: UploadOptions): Promise<{ status: number; media: MediaAttachment }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v2/media");
    xhr.setRequestHeader("Accept", "application/json");
    const token = currentToken();
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) options.onProgress?.(event.loaded / event.total);
    };
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve({ status: xhr.status, media: body as MediaAttachment });
      else reject(new ApiError(xhr.status, (body as { error?: string } | null)?.error ?? xhr.statusText));
    };
    xhr.onerror = () => reject(new TypeError("network error"));
    xhr.onabort = () => reject(new DOMException("aborted", "AbortError"));
    options.signal?.addEventListener("abort", () => xhr.abort());
    const form = new FormData();
    form.append("file", file);
    if (options.description) form.append("description", options.description);
    xhr.send(form);
  });
}

/** Uploads `file` and resolves with the attachment once the server has processed it. */
export async function upload(file: File, options: UploadOptions = {}): Promise<MediaAttachment> {
  const { status, media } = await send(file, options);
  options.onProgress?.(1);
  if (status !== 202 && media.url) return media;
  const every = options.pollEvery ?? 1000;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, every));
    if (options.signal?.aborted) throw new DOMException("aborted", "AbortError");
    const token = currentToken();
    const response = await fetch(`/api/v1/media/${media.id}`, {
      headers: { Accept: "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    });
    if (response.status === 200) return (await response.json()) as MediaAttachment;
    if (response.status !== 206) throw new ApiError(response.status, response.statusText);
  }
}

/** Sets the alt text of an uploaded, not yet attached, attachment. */
export function describe(id: string, description: string): Promise<MediaAttachment> {
  return api<MediaAttachment>(`/api/v1/media/${id}`, { method: "PUT", body: { description } });
}
