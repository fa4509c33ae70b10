import { defineConfig } from 'vite';

// The console is served by jitd itself; `npm run dev` proxies the API to a
// local jitd (JITD_URL, default http://127.0.0.1:8420).
const target = process.env.JITD_URL || 'http://127.0.0.1:8420';

export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No inline scripts or data: modules: jitd's CSP forbids them.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: { proxy: { '/v1': target } },
  test: { environment: 'node', include: ['src/**/*.test.js'] },
});
