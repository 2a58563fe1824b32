import { useEffect, useRef, useState } from "preact/hooks";
import { LocationProvider, Route, Router, useLocation } from "preact-iso";
import { isLocale, locale, onLocaleChange, setLocale, t } from "./i18n";
import * as auth from "./lib/auth";
import { currentToken } from "./lib/api";
import { forgetTimelines } from "./components/Timeline";
import { startLive, stopLive } from "./live";
import { Notifications } from "./screens/Notifications";
import { Profile } from "./screens/Profile";
import { Settings } from "./screens/Settings";
import { Tag } from "./screens/Tag";
import { Thread } from "./screens/Thread";
import { TimelineScreen } from "./screens/Home";
import * as state from "./state";
import * as store from "./lib/store";
import * as push from "./lib/push";
import { APP_SCOPE, SHARED_WITH_PUBLIC_PAGES, hasAppCookie, markSignedIn } from "./lib/paths";
import type { Session } from "./state";

function Welcome() {
  const [busy, setBusy] = useState(false);
  const signIn = async () => {
    setBusy(true);
    location.assign(await auth.authorizeUrl());
  };
  return (
    <main id="main" class="welcome" tabIndex={-1}>
      <h1>{t("welcome.title")}</h1>
      <p>{t("welcome.lead")}</p>
      <p class="welcome-actions">
        <button type="button" onClick={signIn} disabled={busy}>{t("welcome.signIn")}</button>
        <a class="button secondary" href="/auth/sign_up">{t("welcome.signUp")}</a>
      </p>
      <p><a href="/about">{t("welcome.about")}</a></p>
    </main>
  );
}

function Nav() {
  const { path } = useLocation();
  const link = (href: string, label: string) => (
    <a href={href} aria-current={path === href ? "page" : undefined}>{label}</a>
  );
  return (
    <nav aria-label={t("nav.label")}>
      {link("/", t("nav.home"))}
      {link("/local", t("nav.local"))}
      {link("/notifications", t("nav.notifications"))}
      {link("/settings", t("nav.settings"))}
    </nav>
  );
}

/** Moves focus to the main region on every route change, so keyboard and screen-reader
 * users start at the new screen's content. */
function FocusOnRoute() {
  const { path } = useLocation();
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById("main")?.focus();
  }, [path]);
  return null;
}

function NotFound() {
  return <p class="notice">{t("common.notFound")}</p>;
}

function SignedIn({ session, onLogout }: { session: Session; onLogout: () => void }) {
  return (
    <>
      <a class="skip" href="#main">{t("nav.skip")}</a>
      <header class="top">
        <a href="/" class="brand">{session.instance.title}</a>
        <Nav />
        <a class="me" href={`/@${session.me.acct}`}>@{session.me.acct}</a>
      </header>
      <FocusOnRoute />
      <main id="main" tabIndex={-1}>
        {/* A language switch renders every screen again, in the new language. */}
        <Router key={locale()}>
          <Route path="/" component={() => (
            <TimelineScreen session={session} path="/api/v1/timelines/home" cacheName="home" stream="user" title="nav.home" />
          )} />
          <Route path="/local" component={() => (
            <TimelineScreen session={session} path="/api/v1/timelines/public?local=true" cacheName="local" stream="public:local" title="nav.local" />
          )} />
          <Route path="/notifications" component={Notifications} />
          <Route path="/statuses/:id" component={({ id }: { id: string }) => <Thread id={id} />} />
          <Route path="/tags/:tag" component={({ tag }: { tag: string }) => <Tag tag={decodeURIComponent(tag)} />} />
          <Route path="/settings" component={() => <Settings onLogout={onLogout} />} />
          {/* /@alice/123: a post, at its public page's address (the server gives the app
              this address while the app is signed in). */}
          <Route path="/:handle/:id" component={({ handle, id }: { handle: string; id: string }) =>
            handle.startsWith("@") && /^\d+$/.test(id) ? <Thread id={id} /> : <NotFound />
          } />
          {/* /@alice and /@alice@elsewhere.example: a profile. */}
          <Route path="/:handle" component={({ handle }: { handle: string }) =>
            handle.startsWith("@") ? <Profile acct={decodeURIComponent(handle.slice(1))} me={session.me} /> : <NotFound />
          } />
          <Route default component={NotFound} />
        </Router>
      </main>
    </>
  );
}

export function App() {
  const [session, setSession] = useState<Session | null | "loading">("loading");
  const [, rerender] = useState(0);

  const [update, setUpdate] = useState<(() => void) | null>(null);

  useEffect(() => onLocaleChange(() => rerender((n) => n + 1)), []);
  useEffect(() => {
    const listener = (event: Event) => setUpdate(() => (event as CustomEvent<() => void>).detail);
    window.addEventListener("app-update", listener);
    return () => window.removeEventListener("app-update", listener);
  }, []);

  /** No session: the server's pages are shown again at the addresses it shares with the
   * app; `/login` (the front door's "Sign in") goes straight to the authorize page. */
  const signedOut = () => {
    const serverThoughtSignedIn = hasAppCookie();
    markSignedIn(false);
    if (location.pathname === "/login") {
      void auth.authorizeUrl().then((url) => location.assign(url));
      return;
    }
    const shared = location.pathname === "/" || SHARED_WITH_PUBLIC_PAGES.test(location.pathname);
    if (shared && serverThoughtSignedIn && navigator.onLine) {
      // The server gave the app this address on the cookie's word; without it (once: the
      // cookie is gone now) the server answers with its own page.
      location.reload();
      return;
    }
    setSession(null);
  };

  useEffect(() => {
    (async () => {
      if (location.pathname === "/callback") {
        const params = new URLSearchParams(location.search);
        // The code leaves the address bar (and history) at once.
        history.replaceState(null, "", "/");
        await auth.completeSignIn(params);
      }
      if (!(await auth.restore())) {
        signedOut();
        return;
      }
      try {
        const loaded = await state.loadSession();
        // The account's language, unless one was chosen in the app.
        const account = loaded.me.source?.language;
        if (!(await store.get<string>("locale")) && isLocale(account)) setLocale(account);
        startLive(loaded.instance.configuration.urls.streaming, currentToken() ?? "");
        markSignedIn(true);
        if (location.pathname === "/login") history.replaceState(null, "", "/");
        setSession(loaded);
      } catch {
        // Offline with a kept session: show what is cached, with the last known session.
        const kept = await store.get<Session>("session");
        if (kept && !navigator.onLine) setSession(kept);
        else {
          await auth.logout(null);
          signedOut();
        }
      }
    })();
  }, []);

  useEffect(() => {
    if (session && session !== "loading") void store.set("session", session);
  }, [session]);

  const logout = async () => {
    stopLive();
    // This browser's pushes stop with the session (the server's subscription goes with
    // the token too).
    if (push.isSupported()) await push.unsubscribe().catch(() => undefined);
    await auth.logout(currentToken());
    forgetTimelines();
    state.clear();
    markSignedIn(false);
    setSession(null);
    history.replaceState(null, "", "/");
  };

  if (session === "loading") return <p class="notice">{t("common.loading")}</p>;
  return (
    // Only the app's own addresses are routed in the page; links to the server's pages
    // (sign-up, /about, /auth/…, /api/…: lib/paths.ts) are followed as links.
    <LocationProvider scope={APP_SCOPE}>
      {update && (
        <div class="update-banner" role="status">
          {t("update.available")} <button type="button" onClick={update}>{t("update.reload")}</button>
        </div>
      )}
      {session === null ? <Welcome /> : <SignedIn session={session} onLogout={logout} />}
    </LocationProvider>
  );
}
