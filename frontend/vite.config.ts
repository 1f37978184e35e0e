import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'

// Served by FastAPI at "/": relative asset paths keep the build portable.
export default defineConfig({
  base: './',
  plugins: [vue()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  server: { proxy: { '/api': 'http://127.0.0.1:8000', '/dicom-web': 'http://127.0.0.1:8000' } },
  test: { environment: 'node', include: ['tests/**/*.test.ts'] },
})
