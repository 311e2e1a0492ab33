import type { Client } from "ssh2";
import type { Duplex } from "node:stream";
import type { HostConfig } from "../hosts/host-config.js";
import { checkSavedHost } from "../hosts/host-validation.js";
import { connect, type ConnectOptions } from "./connect.js";
import { ConnectionError } from "./connect-errors.js";

const MAX_JUMPS = 8;

/**
 * Connect to `host`, through its proxyJump chain when it has one, as OpenSSH's ProxyJump does:
 * each hop is a full SSH connection (its own host key check and login) carrying the next one in
 * a direct-tcpip channel, and closing the last hop closes the ones before it.
 */
export async function connectWithJumps(
  host: HostConfig,
  lookup: (hostId: string) => Promise<HostConfig>,
  options: ConnectOptions,
  via: string[] = [],
): Promise<Client> {
  // Before any connection: a hand-edited or old hosts.json may hold a pattern where a host name belongs.
  checkSavedHost(host);
  if (host.proxyJump === undefined) return connect(host, options);
  if (via.includes(host.host_id) || via.length >= MAX_JUMPS) {
    throw new ConnectionError(
      `The proxyJump chain ${[...via, host.host_id].join(" -> ")} loops or is longer than ${MAX_JUMPS} hops. Fix proxyJump with edit-host.`,
    );
  }
  const jumpHost = await lookup(host.proxyJump);
  const jump = await connectWithJumps(jumpHost, lookup, options, [...via, host.host_id]);
  try {
    const tunnel = await openTunnel(jump, jumpHost, host);
    const client = await connect(host, options, tunnel);
    client.once("close", () => jump.end());
    return client;
  } catch (error) {
    jump.end();
    throw error;
  }
}

function openTunnel(jump: Client, jumpHost: HostConfig, target: HostConfig): Promise<Duplex> {
  return new Promise((resolve, reject) =>
    jump.forwardOut("127.0.0.1", 0, target.host, target.port, (error, channel) => {
      if (!error) return resolve(channel);
      reject(
        new ConnectionError(
          `Jump host '${jumpHost.host_id}' (${jumpHost.username}@${jumpHost.host}:${jumpHost.port}) could not open a connection to ` +
            `${target.host}:${target.port}: ${error.message}. Check that the target is reachable from the jump host and that its sshd allows TCP forwarding (AllowTcpForwarding).`,
          { cause: error },
        ),
      );
    }),
  );
}
