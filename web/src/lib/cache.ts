// The last-loaded timelines, threads and notifications, kept in IndexedDB so they can be
// read offline.

import * as store from "./store";

const LIMIT = 100;

export async function save<T>(name: string, items: T[]): Promise<void> {
  await store.set(`cache:${name}`, items.slice(0, LIMIT));
}

export async function load<T>(name: string): Promise<T[] | undefined> {
  return store.get<T[]>(`cache:${name}`);
}
