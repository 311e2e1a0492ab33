import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULTS, readConfig } from "../../src/config.js";

describe("readConfig", () => {
  it("uses the documented defaults and puts everything under the given home", () => {
    const config = readConfig({}, "/home/u");
    expect(config).toMatchObject({
      ...DEFAULTS,
      strictHostKeys: "accept-new",
      dataDir: "/home/u/.ssh-mcp",
      userKnownHostsFile: "/home/u/.ssh/known_hosts",
      homeDir: "/home/u",
    });
    expect(DEFAULTS).toMatchObject({ execTimeoutMs: 30 * 60_000, execYieldMs: 30_000, idleTimeoutMs: 7_200_000, maxOutputBytes: 65_536 });
    expect(DEFAULTS).toMatchObject({ maxSessions: 50, maxConnecting: 10 });
  });

  it("reads every setting from the environment", () => {
    const config = readConfig(
      {
        SSH_MCP_STRICT_HOST_KEYS: "yes",
        SSH_MCP_EXEC_TIMEOUT_MS: "1000",
        SSH_MCP_IDLE_TIMEOUT_MS: "2000",
        SSH_MCP_MAX_OUTPUT_BYTES: "4096",
        SSH_MCP_KEY_PASSPHRASE: "pp",
        SSH_AUTH_SOCK: "/tmp/agent.sock",
        SSH_MCP_MAX_SESSIONS: "3",
        SSH_MCP_MAX_CONNECTING: "2",
      },
      "/h",
    );
    expect(config).toMatchObject({ maxSessions: 3, maxConnecting: 2 });
    expect(config).toMatchObject({
      strictHostKeys: "yes",
      execTimeoutMs: 1000,
      idleTimeoutMs: 2000,
      maxOutputBytes: 4096,
      keyPassphrase: "pp",
      agentSocket: "/tmp/agent.sock",
    });
  });

  it.each([
    ["SSH_MCP_STRICT_HOST_KEYS", "prompt", /accept-new \(the default\), ask, yes or no/],
    ["SSH_MCP_AUDIT", "false", /SSH_MCP_AUDIT='false' is not valid: use on \(the default\) or off/],
    ["SSH_MCP_EXEC_YIELD_MS", "-1", /SSH_MCP_EXEC_YIELD_MS='-1'.*from 0/],
    ["SSH_MCP_EXEC_TIMEOUT_MS", "10s", /whole number from 1 to 2147483647/],
    ["SSH_MCP_IDLE_TIMEOUT_MS", "0", /SSH_MCP_IDLE_TIMEOUT_MS='0'/],
    ["SSH_MCP_IDLE_TIMEOUT_MS", "2147483648", /to 2147483647/],
    ["SSH_MCP_MAX_OUTPUT_BYTES", "100", /from 256/],
    ["SSH_MCP_MAX_SESSIONS", "0", /SSH_MCP_MAX_SESSIONS='0' is not valid: give a whole number from 1 to 10000 \(default 50\)/],
    ["SSH_MCP_MAX_CONNECTING", "many", /SSH_MCP_MAX_CONNECTING='many'.*from 1 to 10000 \(default 10\)/],
  ])("refuses %s=%s, naming the variable", (name, value, message) => {
    expect(() => readConfig({ [name]: value }, "/h")).toThrow(ConfigError);
    expect(() => readConfig({ [name]: value }, "/h")).toThrow(message);
  });
});

describe("SSH_MCP_SSH_CONFIG", () => {
  it("defaults to ~/.ssh/config, takes another file (~/ expanded), and none turns ssh config off", () => {
    expect(readConfig({}, "/home/u").sshConfigFile).toBe("/home/u/.ssh/config");
    expect(readConfig({ SSH_MCP_SSH_CONFIG: "/etc/ssh/lab_config" }, "/home/u").sshConfigFile).toBe("/etc/ssh/lab_config");
    expect(readConfig({ SSH_MCP_SSH_CONFIG: "~/lab/config" }, "/home/u").sshConfigFile).toBe("/home/u/lab/config");
    expect(readConfig({ SSH_MCP_SSH_CONFIG: "none" }, "/home/u").sshConfigFile).toBeUndefined();
  });
});
