// The API's base URL. Empty: the page's own origin (the local server).
// scripts/deploy.sh rewrites this file with the deployed HTTP API's URL.
window.CATBREED_CONFIG = { apiUrl: "" };
