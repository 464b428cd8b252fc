#!/bin/bash
# 05-layers.sh - the source tree keeps the architecture that
# ARCHITECTURE.md draws: each layer includes only the layers below it,
# every include names its layer, the mount reaches the core through the
# engine alone, nothing below the command line prints to the user, and
# the binary calls avro-c.
. "${top_srcdir:-.}/tests/integration/lib.sh"
SRC=$top_srcdir/src

# The layers each layer may include (its own among them).
allowed() {
	case $1 in
	base) echo "base" ;;
	aws) echo "base aws" ;;
	store) echo "base aws store" ;;
	avro) echo "base avro" ;;
	core) echo "base aws store avro core" ;;
	fuse) echo "base fuse" ;;       # and core/engine.h, below
	cli) echo "base aws store avro core fuse cli" ;;
	*) echo "" ;;
	esac
}

layers=$(cd "$SRC" && ls -d */ | tr -d /)
[ "$(echo $layers)" = "avro aws base cli core fuse store" ]
ok $? "src/ holds exactly the seven layers (found: $(echo $layers))"
stray=$(cd "$SRC" && ls -p | grep -v /)
[ -z "$stray" ]
ok $? "no source file outside a layer${stray:+ (found: $stray)}"

for l in $layers; do
	bad=""
	for f in "$SRC/$l"/*.[ch]; do
		while read -r inc; do
			case $inc in
			config.h) continue ;;
			cli_commands.h) [ "$l" = cli ] && continue ;;
			core/engine.h) [ "$l" = fuse ] && continue ;;
			esac
			to=${inc%%/*}
			if [ "$to" = "$inc" ] ||
			    ! echo " $(allowed "$l") " | grep -q " $to "; then
				bad="$bad ${f#"$SRC"/}:$inc"
			fi
		done < <(sed -n 's/^#[ \t]*include[ \t]*"\([^"]*\)".*/\1/p' "$f")
	done
	[ -z "$bad" ]
	ok $? "$l/ includes only $(allowed "$l")$([ "$l" = fuse ] && echo " and core/engine.h")${bad:+ (breaks it:$bad)}"
done

# Only the command line (and the logger) talks to the terminal.
pr=$(grep -nE '\b(printf|puts|putchar|perror)\(|fprintf\((stdout|stderr)|fputs\([^;]*(stdout|stderr)\)' \
    "$SRC"/{base,aws,store,avro,core,fuse}/*.c | grep -v '^[^:]*/base/log\.c:')
[ -z "$pr" ]
ok $? "nothing below cli/ prints to the user${pr:+ (prints: $(echo "$pr" | cut -d: -f1,2 | tr '\n' ' '))}"

# avro-c does real work in the binary: its schema parser and comparison
# (src/avro/schema.c) are called, not only linked.
if command -v nm >/dev/null 2>&1; then
	navro=$( (nm -D "$SWREPART" 2>/dev/null; nm "$SWREPART" 2>/dev/null) |
	    grep -cE ' (U|T) avro_schema_(from_json_length|equal)$')
	[ "$navro" -ge 2 ]
	ok $? "swrepart calls avro-c's schema parser and comparison ($navro symbols)"
fi

# Every command is one file that owns its table entry.
for f in "$SRC"/cli/cmd_*.c; do
	n=$(basename "$f" .c)
	grep -q "^const struct cmd_entry ${n}_entry = {" "$f" &&
	    grep -q "src/cli/$n\.c" "$top_srcdir/Makefile.am"
	ok $? "cli/$n.c defines ${n}_entry and Makefile.am lists it"
done

done_testing
