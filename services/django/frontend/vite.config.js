import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";

// The built assets are served by Django (whitenoise) under STATIC_URL, so every asset URL in
// dist/index.html starts with /static/. During `npm run dev`, API calls go to a local Django.
export default defineConfig({
  base: "/static/",
  plugins: [vue()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/healthz": "http://127.0.0.1:8000",
    },
  },
});
