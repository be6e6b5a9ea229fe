# Sourced by setup_rpi.sh and setup_jetson.sh: the daemon's secrets into an env file, kept out of the process
# list and shell history.
#
# Every variable the config's {NAME} placeholders read (as `edgekit config env` lists them: the loader's own rule,
# so comments and ${NAME} ask for nothing) is read from the environment (`sudo -E` keeps it) or, on a terminal,
# prompted for without echo. Values only pass through shell builtins (read, printf) and pipes, never through a
# command's arguments, so `ps` never shows them; nothing is typed on a command line, so no history has them.
# The file is written with umask 077 (mode 0600), owned by the service user, and read by the unit's
# EnvironmentFile=.
write_env_file() {  # write_env_file CONFIG ENV_FILE OWNER EDGEKIT (the installed edgekit command)
    _cfg=$1; _env=$2; _owner=$3; _edgekit=$4
    install -d -m 0700 -o "$_owner" "$(dirname "$_env")"
    (
        umask 077
        _tmp="$_env.tmp"
        : > "$_tmp"
        _vars=$("$_edgekit" config env "$_cfg") || exit 2
        for _var in $_vars; do
            eval "_val=\${$_var-}"
            if [ -z "$_val" ] && [ -t 0 ]; then
                printf '%s for %s: ' "$_var" "$_cfg" >&2
                IFS= read -rs _val; printf '\n' >&2
            fi
            if [ -z "$_val" ] && [ -f "$_env" ]; then  # keep the value already on the board
                _val=$(grep "^$_var=" "$_env" | head -n1 | cut -d= -f2- | sed "s/^'//; s/'$//; s/'\\\\''/'/g")
            fi
            [ -n "$_val" ] || { echo "$_var is not set: export it and run with sudo -E, or run on a terminal" >&2; exit 2; }
            printf "%s='%s'\n" "$_var" "$(printf '%s' "$_val" | sed "s/'/'\\\\''/g")" >> "$_tmp"
        done
        mv "$_tmp" "$_env"
    ) || return $?
    chown "$_owner" "$_env"
    chmod 600 "$_env"
}

as_user_with_env() {  # as_user_with_env USER ENV_FILE CMD...: run CMD as USER with the env file loaded
    _u=$1; _e=$2; shift 2
    sudo -u "$_u" sh -c 'set -a; . "$0"; set +a; exec "$@"' "$_e" "$@"
}
