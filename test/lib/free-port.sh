# Sourced by the smoke scripts: free TCP ports on 127.0.0.1, picked at random in
# [base, base+9999] and never twice in one script, so that parallel runs and
# other test processes are unlikely to collide. It assigns instead of printing:
# a command substitution would run in a subshell and forget the ports it gave.
#   usage: free_port <variable> <base>
free_port_used=" "
free_port() {
	local var=${1:?usage: free_port <variable> <base>} base=${2:?usage: free_port <variable> <base>} p
	for _ in {1..100}; do
		p=$((base + RANDOM % 10000))
		[[ $free_port_used == *" $p "* ]] && continue
		if [[ -z $(ss -Hltn "sport = :$p") ]]; then
			free_port_used+="$p "
			printf -v "$var" '%s' "$p"
			return
		fi
	done
	echo "no free port found above $base" >&2
	return 1
}
