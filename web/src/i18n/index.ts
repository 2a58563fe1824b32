// ICU messages (FormatJS) in English and Indonesian. The language is, in order: the one
// chosen in the app, the account's language, the browser's; English when none is ours.

import { createIntl, createIntlCache, type IntlShape } from "@formatjs/intl";
import en from "./en.json";
import id from "./id.json";

export const LOCALES = { en, id } as const;
export type Locale = keyof typeof LOCALES;
export type MessageId = keyof typeof en;

const cache = createIntlCache();

export function isLocale(value: string | null | undefined): value is Locale {
  return value === "en" || value === "id";
}

/** The first of `candidates` ("id-ID", "en-GB", …) whose language the app speaks. */
export function pickLocale(candidates: readonly (string | null | undefined)[]): Locale {
  for (const candidate of candidates) {
    const language = candidate?.toLowerCase().split("-")[0];
    if (isLocale(language)) return language;
  }
  return "en";
}

export function makeIntl(locale: Locale): IntlShape<string> {
  return createIntl({ locale, messages: LOCALES[locale], defaultLocale: "en" }, cache);
}

let intl = makeIntl("en");
const listeners = new Set<() => void>();

export function setLocale(locale: Locale): void {
  intl = makeIntl(locale);
  document.documentElement.lang = locale;
  for (const listener of listeners) listener();
}

export function locale(): Locale {
  return intl.locale as Locale;
}

export function onLocaleChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function t(id: MessageId, values?: Record<string, string | number>): string {
  return intl.formatMessage({ id }, values) as string;
}

export function formatDate(iso: string): string {
  return intl.formatDate(iso, { dateStyle: "medium", timeStyle: "short" });
}
