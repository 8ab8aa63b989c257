import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// A production build with hashed asset names (the server caches /assets/* for a year) and no
// inline script (the server's Content-Security-Policy allows scripts from 'self' only).
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: { proxy: { '/graphql': { target: 'http://127.0.0.1:4000', ws: true } } },
});
