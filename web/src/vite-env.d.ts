// Vite turns a CSS import into a <link> in the built index.html.
declare module '*.css';
