import { render } from "preact";
import { App } from "./app";
import { isLocale, pickLocale, setLocale } from "./i18n";
import * as store from "./lib/store";
import "./style.css";

async function start() {
  // Timelines put the reader back where they were themselves (components/Timeline.tsx).
  history.scrollRestoration = "manual";
  const chosen = await store.get<string>("locale").catch(() => undefined);
  setLocale(isLocale(chosen) ? chosen : pickLocale(navigator.languages));
  render(<App />, document.getElementById("app")!);
  if ("serviceWorker" in navigator && import.meta.env.PROD) {
    const { registerSW } = await import("virtual:pwa-register");
    const update = registerSW({
      // A new version was deployed: the app shows a banner; its button reloads into it.
      onNeedRefresh() {
        window.dispatchEvent(new CustomEvent("app-update", { detail: () => void update(true) }));
      },
    });
  }
}

void start();
