/** The merchant's console: `consoleRoutes` (mounted at `/dashboard`) and its setup step. */
export { consoleRoutes } from "./routes.tsx";
export { setOperatorPassword, OperatorPasswordError, minPasswordLength } from "./auth.ts";
