// A small key-value store on IndexedDB: the session (token), the cached timelines and the
// offline outbox. Nothing here goes to localStorage, and nothing to a URL.

const DB_NAME = "connecthub";
const STORE = "kv";

let opening: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return opening;
}

async function run<T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest): Promise<T> {
  const db = await open();
  return new Promise<T>((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = act(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(request.result as T);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export function get<T>(key: string): Promise<T | undefined> {
  return run<T | undefined>("readonly", (s) => s.get(key));
}

export function set(key: string, value: unknown): Promise<void> {
  return run<void>("readwrite", (s) => s.put(value, key)).then(() => undefined);
}

export function del(key: string): Promise<void> {
  return run<void>("readwrite", (s) => s.delete(key)).then(() => undefined);
}

/** Closes the connection (tests delete the database between cases). */
export async function close(): Promise<void> {
  if (opening) (await opening).close();
  opening = null;
}

/** Deletes every key but `keep` (signing out: the account's caches, outbox and session go). */
export async function clearExcept(keep: readonly string[]): Promise<void> {
  const keys = await run<IDBValidKey[]>("readonly", (s) => s.getAllKeys());
  await Promise.all(keys.filter((key) => !keep.includes(String(key))).map((key) => del(String(key))));
}
