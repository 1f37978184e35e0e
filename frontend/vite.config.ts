import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'

// Served by FastAPI at "/": relative asset paths keep the build portable.
// Cornerstone3D's DICOM image loader decodes in module web workers that import the WASM codecs
// on demand: workers are built as ES modules, and the loader and codecs are left out of the dev
// server's pre-bundling (esbuild would inline the worker URL and the codecs' .wasm files).
export default defineConfig({
  base: './',
  plugins: [vue()],
  worker: { format: 'es' },
  optimizeDeps: {
    exclude: ['@cornerstonejs/dicom-image-loader'],
    include: ['dicom-parser'],
  },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000, target: 'es2022' },
  server: { proxy: { '/api': 'http://127.0.0.1:8000', '/dicom-web': 'http://127.0.0.1:8000' } },
  test: { environment: 'node', include: ['tests/**/*.test.ts'] },
})
