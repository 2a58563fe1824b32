import { useEffect, useRef, useState } from "preact/hooks";
import { LocationProvider, Route, Router, lazy, useLocation } from "preact-iso";
import { isLocale, locale, onLocaleChange, setLocale, t } from "./i18n";
import * as auth from "./lib/auth";
import { currentToken } from "./lib/api";
import { forgetTimelines } from "./components/Timeline";
import { startLive, stopLive } from "./live";
import { Notifications } from "./screens/Notifications";
import { Profile } from "./screens/Profile";
import { Settings } from "./screens/Settings";
import { isModerator } from "./lib/entities";
import type { Account } from "./lib/api";
import { Tag } from "./screens/Tag";
import { Thread } from "./screens/Thread";
import { TimelineScreen } from "./screens/Home";
import { follow } from "./live";

// Screens loaded when first opened (the initial bundle stays small).
const Messages = lazy(() => import("./screens/Messages").then((m) => m.Messages));
const Chat = lazy(() => import("./screens/Messages").then((m) => m.Chat));
const FollowRequests = lazy(() => import("./screens/FollowRequests").then((m) => m.FollowRequests));

/** The federated-style public timeline, live from the `public` stream while open. */
function PublicScreen({ session }: { session: Session }) {
  useEffect(() => follow({ stream: "public" }), []);
  return (
    <TimelineScreen session={session} path="/api/v1/timelines/public" cacheName="public" stream="public" title="nav.public" compose={false} />
  );
}
import * as state from "./state";
import * as store from "./lib/store";
import * as unread from "./lib/unread";
import * as push from "./lib/push";
import { APP_SCOPE, SHARED_WITH_PUBLIC_PAGES, hasAppCookie, markSignedIn } from "./lib/paths";
import type { Session } from "./state";

// Screens opened less often load as their own chunks.
const Search = lazy(() => import("./screens/Search").then((m) => m.Search));
const Saved = lazy(() => import("./screens/Saved").then((m) => m.Saved));
const Lists = lazy(() => import("./screens/Lists").then((m) => m.Lists));
const ListTimeline = lazy(() => import("./screens/Lists").then((m) => m.ListTimeline));
const ListEdit = lazy(() => import("./screens/Lists").then((m) => m.ListEdit));
const Filters = lazy(() => import("./screens/Filters").then((m) => m.Filters));
const FilterEdit = lazy(() => import("./screens/Filters").then((m) => m.FilterEdit));
const SettingsSection = lazy(() => import("./screens/Settings").then((m) => m.SettingsSection));
const ModerationGate = lazy(() => import("./screens/admin/Gate").then((m) => m.ModerationGate));
const AdminAccounts = lazy(() => import("./screens/admin/Accounts").then((m) => m.AdminAccounts));
const AdminAccountDetail = lazy(() => import("./screens/admin/Accounts").then((m) => m.AdminAccountDetail));
const AdminReports = lazy(() => import("./screens/admin/Reports").then((m) => m.AdminReports));
const AdminHeld = lazy(() => import("./screens/admin/Held").then((m) => m.AdminHeld));
const AdminReportDetail = lazy(() => import("./screens/admin/Reports").then((m) => m.AdminReportDetail));

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

function Nav({ me }: { me: Account }) {
  const { path } = useLocation();
  const [unreadCount, setUnread] = useState(unread.count());
  useEffect(() => unread.subscribe(() => setUnread(unread.count())), []);
  const link = (href: string, label: string, badge = 0) => (
    <a href={href} aria-current={path === href || (href !== "/" && path.startsWith(`${href}/`)) ? "page" : undefined}>
      {label}
      {badge > 0 && (
        <>
          {" "}
          <span class="badge" aria-hidden="true">{badge}</span>
          <span class="visually-hidden">{t("chat.unreadCount", { count: badge })}</span>
        </>
      )}
    </a>
  );
  return (
    <nav aria-label={t("nav.label")}>
      {link("/", t("nav.home"))}
      {link("/local", t("nav.local"))}
      {link("/public", t("nav.public"))}
      {link("/notifications", t("nav.notifications"))}
      {link("/messages", t("nav.messages"), unreadCount)}
      {link("/search", t("nav.search"))}
      {link("/lists", t("nav.lists"))}
      {link("/bookmarks", t("nav.bookmarks"))}
      {link("/favourites", t("nav.favourites"))}
      {link("/settings", t("nav.settings"))}
      {isModerator(me) && link("/admin", t("nav.moderation"))}
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

function SignedIn({ session, onLogout, onAccount }: { session: Session; onLogout: () => void; onAccount: (account: Account) => void }) {
  const admin = (screen: preact.ComponentChildren) => <ModerationGate me={session.me}>{screen}</ModerationGate>;
  return (
    <>
      <a class="skip" href="#main">{t("nav.skip")}</a>
      <header class="top">
        <a href="/" class="brand">{session.instance.title}</a>
        <Nav me={session.me} />
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
          <Route path="/public" component={() => <PublicScreen session={session} />} />
          <Route path="/notifications" component={Notifications} />
          <Route path="/messages" component={Messages} />
          <Route path="/messages/to/:acct" component={({ acct }: { acct: string }) => <Chat to={decodeURIComponent(acct)} />} />
          <Route path="/messages/:id" component={({ id }: { id: string }) => <Chat id={id} />} />
          <Route path="/follow_requests" component={FollowRequests} />
          <Route path="/statuses/:id" component={({ id }: { id: string }) => <Thread id={id} />} />
          <Route path="/tags/:tag" component={({ tag }: { tag: string }) => <Tag tag={decodeURIComponent(tag)} />} />
          <Route path="/settings" component={() => <Settings onLogout={onLogout} />} />
          <Route path="/settings/:section" component={({ section }: { section: string }) => (
            <SettingsSection section={section} me={session.me} onLogout={onLogout} onAccount={onAccount} />
          )} />
          <Route path="/search" component={() => <Search me={session.me} />} />
          <Route path="/bookmarks" component={() => <Saved kind="bookmarks" />} />
          <Route path="/favourites" component={() => <Saved kind="favourites" />} />
          <Route path="/lists" component={Lists} />
          <Route path="/lists/:id" component={({ id }: { id: string }) => <ListTimeline id={id} />} />
          <Route path="/lists/:id/edit" component={({ id }: { id: string }) => <ListEdit id={id} />} />
          <Route path="/filters" component={Filters} />
          <Route path="/filters/new" component={() => <FilterEdit />} />
          <Route path="/filters/:id" component={({ id }: { id: string }) => <FilterEdit id={id} />} />
          <Route path="/admin" component={() => admin(<AdminReports />)} />
          <Route path="/admin/accounts" component={() => admin(<AdminAccounts />)} />
          <Route path="/admin/accounts/:id" component={({ id }: { id: string }) => admin(<AdminAccountDetail id={id} />)} />
          <Route path="/admin/held" component={() => admin(<AdminHeld />)} />
          <Route path="/admin/reports" component={() => admin(<AdminReports />)} />
          <Route path="/admin/reports/:id" component={({ id }: { id: string }) => admin(<AdminReportDetail id={id} me={session.me} />)} />
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
        // The cookie says this browser signed in here; without a token that is worth telling.
        if (hasAppCookie()) console.warn("Signed out: no token in this browser's storage");
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
      } catch (error) {
        // The token refused signs out. Anything else (offline, the server busy or failing
        // for a moment) shows what is cached, with the last known session: a 503 while a
        // screen loaded once signed a person out (a browser test caught it).
        const kept = await store.get<Session>("session");
        if (kept && !state.signInRefused(error)) setSession(kept);
        else {
          console.warn("Signed out: the session could not be loaded", error);
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
      {session === null ? <Welcome /> : <SignedIn session={session} onLogout={logout} onAccount={(me) => setSession({ ...session, me: { ...session.me, ...me } })} />}
    </LocationProvider>
  );
}
