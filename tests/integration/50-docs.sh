#!/bin/bash
# 50-docs.sh - --help and the man pages agree: every command, option and
# config key that swrepart knows is documented, and the pages document
# nothing it does not know.  mandoc lints the pages and man(1) formats
# them with troff's warnings on, where they are installed.
. "${top_srcdir:-.}/tests/integration/lib.sh"
M1=$top_srcdir/man/swrepart.1
M5=$top_srcdir/man/swrepart.conf.5
M8=$top_srcdir/man/mount.swrepart.8

"$SWREPART" help >"$T/help"
ok $? "swrepart help"
cmds=$(sed -n '/^Commands:/,/^$/p' "$T/help" | awk 'NF && !/:$/ {print $1}')
[ -n "$cmds" ]
ok $? "help lists commands"

# Long options: the global ones, the settings, each command's.
grep -Eo -- '--(\[no-\])?[a-z][a-z0-9-]*' "$T/help" | sed 's/\[no-\]//' >"$T/opts"
for c in $cmds; do
	"$SWREPART" help "$c" >"$T/help.$c" || ok 1 "help $c"
	grep -Eo -- '--[a-z][a-z0-9-]*' "$T/help.$c" >>"$T/opts"
	grep -Eq "^\.It Cm $c( |$)" "$M1"
	ok $? "swrepart.1 documents the command '$c'"
done
sort -u "$T/opts" | grep -v -- '^--help$' >"$T/opts.u"
missing=""
while read -r o; do
	grep -Eq -- "Fl -${o#--}( |$)" "$M1" || missing="$missing $o"
done <"$T/opts.u"
[ -z "$missing" ]
ok $? "swrepart.1 documents every option of --help${missing:+ (missing:$missing)}"

# ...and no option that --help does not know.
grep -Eo -- 'Fl -[a-z][a-z0-9-]*' "$M1" | sed 's/^Fl -/--/' | sort -u >"$T/man.opts"
extra=$(comm -23 "$T/man.opts" <(sort -u "$T/opts.u" <(echo --help)))
[ -z "$extra" ]
ok $? "swrepart.1 documents no unknown option${extra:+ (unknown: $extra)}"
mcmds=$(sed -n '/^\.Sh COMMANDS/,/^\.Sh /p' "$M1" | grep -E '^\.It Cm ' | awk '{print $3}' | sort -u)
[ "$mcmds" = "$(printf '%s\n' $cmds | sort -u)" ]
ok $? "swrepart.1's COMMANDS are exactly the command table's"

# Config keys: in the Settings part of --help, in parentheses.
keys=$(grep -Eo '^ +\(([a-z0-9_.]+)' "$T/help" | tr -d ' (' | sort -u)
[ "$(echo "$keys" | wc -l)" -ge 20 ]
ok $? "help lists the config keys"
missing=""
for k in $keys; do
	grep -Eq "^\.It Cm $k$" "$M5" || missing="$missing $k"
done
[ -z "$missing" ]
ok $? "swrepart.conf.5 documents every config key${missing:+ (missing:$missing)}"
mkeys=$(sed -n '/^\.Sh KEYS/,/^\.Sh /p' "$M5" | grep -E '^\.It Cm ' | awk '{print $3}' | sort -u)
[ "$mkeys" = "$keys" ]
ok $? "swrepart.conf.5's KEYS are exactly the option table's"
missing=""
for k in $keys; do
	grep -Eq "^\.Cm $k( |$)" "$M1" || { missing="$missing $k"; }
done
[ -z "$missing" ]
ok $? "swrepart.1 names the config key of every setting option${missing:+ (missing:$missing)}"

if command -v mandoc >/dev/null 2>&1; then
	for m in "$M1" "$M5" "$M8"; do
		# Every message down to STYLE fails, but the pages this machine
		# has not installed (swrepart's own, before make install) and
		# the state of its mandoc.db.
		mandoc -T lint -W style "$m" 2>&1 |
			grep -v -e ': STYLE: referenced manual not found: ' \
			-e '^mandoc: outdated mandoc.db ' >"$T/lint"
		[ ! -s "$T/lint" ]
		ok $? "mandoc -T lint: $(basename "$m") is clean" || sed 's/^/# /' "$T/lint"
	done
else
	echo "# mandoc is not installed: the pages are not linted"
fi
if command -v man >/dev/null 2>&1 && man --help 2>&1 | grep -q -- --warnings; then
	for m in "$M1" "$M5" "$M8"; do
		# What a reader of man(1) would see: no troff warning ("can't
		# break line") at 80 columns.
		MANWIDTH=80 man --warnings -l "$m" 2>"$T/warn" >/dev/null
		[ ! -s "$T/warn" ]
		ok $? "man --warnings -l: $(basename "$m") formats without a warning" || sed 's/^/# /' "$T/warn"
	done
else
	echo "# man-db's man is not installed: troff warnings are not checked"
fi
done_testing
