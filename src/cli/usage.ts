/** `ssh-mcp --help`. */
export const MAIN_USAGE = `Usage:
  ssh-mcp                   run the MCP server on stdio (what MCP clients start)
  ssh-mcp hosts list        list saved hosts and the hosts of ~/.ssh/config
  ssh-mcp hosts add ...     save a host (see ssh-mcp hosts --help)
  ssh-mcp hosts edit ...    change a saved host
  ssh-mcp hosts remove ID   delete a saved host
  ssh-mcp --version         print the version
  ssh-mcp --help            print this help

Secrets are typed at a prompt with echo off (--ask-password, --ask-sudo-password),
never given as arguments, which shells keep in history and ps shows to every user.
`;

/** `ssh-mcp hosts --help`. */
export const HOSTS_USAGE = `Usage:
  ssh-mcp hosts list
  ssh-mcp hosts add ID --host NAME --username USER [options]
  ssh-mcp hosts edit ID [options]
  ssh-mcp hosts remove ID

Options of add and edit (the fields of the add-host and edit-host tools):
  --host NAME             host name or IP address
  --port N                SSH port, 1-65535 (default 22)
  --username USER         login user name
  --key-path PATH         private key file (~/ is expanded)
  --host-key SHA256:...   pin the host key's fingerprint
  --proxy-jump ID         saved host to connect through
  --agent-forward         forward your ssh-agent (edit: --no-agent-forward turns it off)
  --ask-password          prompt for the login password (echo off)
  --ask-sudo-password     prompt for the password sudo asks for (echo off)
edit only:
  --clear-password, --clear-sudo-password   remove a stored password
  --key-path "", --host-key "", --proxy-jump ""   remove that field

From a script, pipe the secrets in, one line each, in the order asked:
  printf '%s\\n' "$SUDO_PW" | ssh-mcp hosts edit web --ask-sudo-password
`;
