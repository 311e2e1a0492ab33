import type { Client } from "ssh2";
import type { Duplex } from "node:stream";
import type { ResolvedHost } from "../hosts/resolved-host.js";
import { checkSavedHost } from "../hosts/host-validation.js";
import { connect, type ConnectOptions } from "./connect.js";
import { ConnectionError } from "./connect-errors.js";

/**
 * Connect to `host`, through its jump hosts (`via`, resolved by the host lookup) when it has any,
 * as OpenSSH's ProxyJump does: each hop is a full SSH connection (its own host key check and login)
 * carrying the next one in a direct-tcpip channel, and closing the last hop closes the ones before it.
 */
export async function connectWithJumps(host: ResolvedHost, options: ConnectOptions): Promise<Client> {
  // Before any connection: a hand-edited or old hosts.json may hold a pattern where a host name belongs.
  if (host.source === "hosts.json") checkSavedHost(host);
  if (host.via === undefined) return connect(host, options);
  const jumpHost = host.via;
  const jump = await connectWithJumps(jumpHost, options);
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

function openTunnel(jump: Client, jumpHost: ResolvedHost, target: ResolvedHost): Promise<Duplex> {
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
