import "fake-indexeddb/auto";
import { afterEach, vi } from "vitest";
import * as store from "../src/lib/store";

afterEach(async () => {
  await store.close();
  await new Promise<void>((resolve) => {
    const request = indexedDB.deleteDatabase("connecthub");
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});
