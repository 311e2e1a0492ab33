import { describe, expect, it } from "vitest";
import { InvalidCommandError } from "../../src/session/session-errors.js";
import { MAX_SUDO_COMMAND_BYTES, planSudo, readSudoResult, sudoRequest } from "../../src/session/sudo.js";
import { SudoFailedError, SudoNotInstalledError, SudoPasswordRequiredError, SudoWrongPasswordError } from "../../src/session/sudo-errors.js";

const where = { hostId: "web", target: "deploy@192.0.2.1:22" };

describe("sudo plans", () => {
  it("feeds sudo from the FIFO only when a password is stored, and sends no password in the script", () => {
    const withPipe = planSudo("id -u", { user: "root" }, "/tmp/tmp.abc/p");
    expect(withPipe.script).toMatch(/^\{ \\command rm -rf '\/tmp\/tmp\.abc'; .*sudo -S -p '__MCP_[0-9a-f]{16}_P' -u 'root' -- .*\} <'\/tmp\/tmp\.abc\/p'$/s);
    const without = planSudo("id -u", { user: "root" });
    expect(without.script).toMatch(/sudo -n -u 'root' -- /);
    expect(without.script).not.toMatch(/tmp\.abc|-S/);
    // Fresh tokens for every command, so no output can predict them.
    expect(planSudo("id", { user: "root" }).tokens.started).not.toBe(without.tokens.started);
  });

  it("refuses a command sudo could not take as one argument", () => {
    expect(() => planSudo("x".repeat(MAX_SUDO_COMMAND_BYTES + 1), { user: "root" })).toThrow(InvalidCommandError);
  });

  it("takes root by default, a user name or #uid, and refuses anything else or sudo_user without sudo", () => {
    expect(sudoRequest(true, undefined)).toEqual({ user: "root" });
    expect(sudoRequest(true, "postgres")).toEqual({ user: "postgres" });
    expect(sudoRequest(true, "#1001")).toEqual({ user: "#1001" });
    expect(sudoRequest(undefined, undefined)).toBeUndefined();
    expect(() => sudoRequest(false, "root")).toThrow(/without sudo: true/);
    for (const bad of ["-u", "a b", "root;id", "$(id)", ""]) expect(() => sudoRequest(true, bad)).toThrow(/Invalid sudo_user/);
  });
});

describe("reading what sudo did", () => {
  const plan = planSudo("id -u", { user: "root" }, "/tmp/tmp.abc/p");
  const { prompt, started, missing } = plan.tokens;

  it("returns the command's own output and status, without sudo's prompt before it", () => {
    expect(readSudoResult({ exitCode: 3, output: `${prompt}${started}\nout\n` }, plan, where)).toEqual({ exitCode: 3, output: "out\n" });
  });

  it("tells a wrong password (sudo asked twice) from a refusal, a missing password and a missing sudo", () => {
    const read = (output: string, p = plan) => () => readSudoResult({ exitCode: 1, output }, p, where);
    expect(read(`${prompt}Sorry, try again.\n${prompt}\nsudo: no password was provided\n`)).toThrow(SudoWrongPasswordError);
    expect(read(`${prompt}deploy is not in the sudoers file.\n`)).toThrow(SudoFailedError);
    expect(read(`${prompt}deploy is not in the sudoers file.\n`)).toThrow(/did not run the command as root: deploy is not in the sudoers file\. The account needs a sudoers rule/);
    expect(read(`${missing}\n`)).toThrow(SudoNotInstalledError);
    const noPassword = planSudo("id -u", { user: "root" });
    expect(read("sudo: a password is required\n", noPassword)).toThrow(SudoPasswordRequiredError);
  });
});
