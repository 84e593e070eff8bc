// The page's settings. apiUrl: the API's base URL; empty means the page's own origin (the
// local server). scripts/deploy.sh rewrites this file with the deployed HTTP API's URL.
// Optional, with their defaults in api.js: slowAfterMs (4000, then "still working"),
// giveUpAfterMs (25000, under API Gateway's 30 s). The photo limits come from the API (GET /breeds).
export default { apiUrl: "" };
