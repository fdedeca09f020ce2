export * from './test-browser.js';
