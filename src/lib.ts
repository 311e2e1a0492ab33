// The package root: the library, with no server and no stdio.
export { execSshCommand, closeSshSessions, CommandFailedError } from "./exec-ssh-command.js";
export { HostStore } from "./hosts/host-store.js";
export type { HostConfig, HostInput, HostPatch } from "./hosts/host-config.js";
export type { HostEdit } from "./hosts/host-validation.js";
export { SessionManager } from "./session/session-manager.js";
export type { SessionInfo, SessionManagerOptions, ExecOptions, HostLookup } from "./session/session-manager.js";
export type { CommandResult } from "./session/shell-session.js";
export { HostKeyTrust } from "./ssh/host-key-trust.js";
export type { StrictHostKeyChecking } from "./ssh/host-key-trust.js";
export { createRuntime, type Runtime } from "./runtime.js";
export { readConfig, type Config } from "./config.js";
export { SshMcpError } from "./errors.js";
export * from "./hosts/host-errors.js";
export * from "./session/session-errors.js";
export * from "./ssh/host-key-errors.js";
export * from "./ssh/connect-errors.js";
