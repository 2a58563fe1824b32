/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import { VitePWA } from "vite-plugin-pwa";
import { SERVER_PATH, SHARED_WITH_PUBLIC_PAGES } from "./src/lib/paths";

// The app is served by ConnectHub at the root (docs/web-app.md, ADR 0054); every asset
// name carries its content hash, so the server can mark them immutable.
export default defineConfig({
  base: "/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    target: "es2020",
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    rollupOptions: {
      output: {
        entryFileNames: "assets/[name]-[hash].js",
        chunkFileNames: "assets/[name]-[hash].js",
        assetFileNames: "assets/[name]-[hash][extname]",
      },
    },
  },
  plugins: [
    VitePWA({
      registerType: "prompt",
      injectRegister: false,
      manifestFilename: "manifest.webmanifest",
      includeAssets: ["icon-192.png", "icon-512.png"],
      manifest: {
        name: "ConnectHub",
        short_name: "ConnectHub",
        start_url: "/",
        scope: "/",
        display: "standalone",
        background_color: "#ffffff",
        theme_color: "#2b5cd6",
        icons: [
          { src: "/icon-192.png", sizes: "192x192", type: "image/png" },
          { src: "/icon-512.png", sizes: "512x512", type: "image/png" },
          { src: "/icon-512.png", sizes: "512x512", type: "image/png", purpose: "maskable" },
        ],
      },
      workbox: {
        // The app shell: every built file, and index.html for every route of the app.
        globPatterns: ["**/*.{js,css,html,png,webmanifest}"],
        // `/` is public/app-sw.js's (network first). Navigations to the server's own pages (sign-in, authorize, the API, /about) and to
        // the public pages (`/@user`, `/@user/:id`, `/tags/:tag`: the server decides who gets
        // the app there) always go to the network.
        navigateFallback: "/index.html",
        navigateFallbackDenylist: [/^\/(?:[?#]|$)/, SERVER_PATH, SHARED_WITH_PUBLIC_PAGES],
        cleanupOutdatedCaches: true,
        // `/` from the network first (the front door or the app), and web push.
        importScripts: ["/app-sw.js"],
      },
    }),
  ],
  test: {
    environment: "happy-dom",
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
    setupFiles: ["test/setup.ts"],
    // One DOM environment for every file, in threads: a fresh one per file was 3 of the
    // run's ~6 s (9 CPU-s; 2-3 without). test/setup.ts resets what the files share (the
    // store, IndexedDB, mocks, stubbed globals) after each test, no file mocks a module,
    // and the files pass in any order (`--sequence.shuffle`).
    pool: "threads",
    isolate: false,
  },
});
