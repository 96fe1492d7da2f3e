# launcher/embed.awk - writes a file as a C string constant.
# usage: awk -v name=IDENT -f embed.awk FILE
# Each line becomes one "...\n" piece; backslashes, quotes and bytes
# outside printable ASCII are escaped, so any text file embeds safely.
BEGIN {
    for (i = 0; i < 256; i++)
        ord[sprintf("%c", i)] = i
    printf "const char %s[] =\n", name
    lines = 0
}
{
    out = ""
    n = length($0)
    for (i = 1; i <= n; i++) {
        c = substr($0, i, 1)
        if (c == "\\")
            out = out "\\\\"
        else if (c == "\"")
            out = out "\\\""
        else if (c == "?")
            out = out "\\?"
        else if (ord[c] < 32 || ord[c] > 126)
            out = out sprintf("\\%03o", ord[c])
        else
            out = out c
    }
    printf "    \"%s\\n\"\n", out
    lines++
}
END {
    if (lines == 0)
        printf "    \"\"\n"
    printf "    ;\n"
}
