package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// runCompletion prints a completion script for bash or zsh, made from the
// command table and each command's flag set, so new commands and flags
// complete without a change here.
func runCompletion(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "completion", "completion bash|zsh\n\nPrints a completion script for the shell; source it from the shell's startup file:\n  bash: source <(shoal completion bash)\n  zsh:  source <(shoal completion zsh)   (after compinit)")
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if len(pos) != 1 || (pos[0] != "bash" && pos[0] != "zsh") {
		fs.Usage()
		return 2
	}
	cmds := describe(ctx)
	if pos[0] == "bash" {
		writeBash(e.stdout, cmds)
	} else {
		writeZsh(e.stdout, cmds)
	}
	return 0
}

// described is a command as completion offers it.
type described struct {
	name, summary string
	flags         []*flag.Flag // sorted by name
	verbs         []described  // `shoal job submit`: the verbs' own flags
}

// commandVerbs lists the verbs of the commands that have some, sorted:
// the word after the command, with flags of their own.
func commandVerbs() map[string][]string {
	return map[string][]string{
		"cluster":  slices.Sorted(maps.Keys(clusterCommands)),
		"gateways": {"add", "remove", "token"},
		"job":      slices.Sorted(maps.Keys(jobSubcommands)),
		"module":   {"put"},
		"task":     {"get"},
	}
}

// describe lists the commands with their flags. A command's flag set is
// made inside its run function, so describe runs each with -h, output
// discarded, and keeps the flag set it made: every command parses its flags
// before it does anything, so -h has no other effect.
func describe(ctx context.Context) []described {
	cmds := commands()
	verbs := commandVerbs()
	var out []described
	for name, c := range cmds {
		d := described{name: name, summary: c.summary}
		if name != "completion" { // its flag set has no flags; -h here would recurse
			d.flags = flagsOf(ctx, c, "-h")
		}
		for _, v := range verbs[name] {
			d.verbs = append(d.verbs, described{name: v, flags: flagsOf(ctx, c, v, "-h")})
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// flagsOf runs c with args, output discarded, and returns the flags of
// the flag set it made.
func flagsOf(ctx context.Context, c command, args ...string) []*flag.Flag {
	e := &env{stdout: io.Discard, stderr: io.Discard}
	c.run(ctx, e, args)
	var flags []*flag.Flag
	if e.flags != nil {
		e.flags.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	}
	return flags
}

// dashed is the flag as the usage texts write it: -f, --name.
func dashed(f *flag.Flag) string {
	if len(f.Name) == 1 {
		return "-" + f.Name
	}
	return "--" + f.Name
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// writeBash writes a bash completion function: command names in the first
// position, a command's flags for a word starting with -, and file names
// (complete -o default) for flag values and arguments.
func writeBash(w io.Writer, cmds []described) {
	var b strings.Builder
	b.WriteString("# bash completion for shoal, made by `shoal completion bash`.\n")
	b.WriteString("_shoal() {\n")
	b.WriteString("\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n")
	b.WriteString("\tCOMPREPLY=()\n")
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.name
	}
	fmt.Fprintf(&b, "\tif [[ $COMP_CWORD -eq 1 ]]; then\n\t\tCOMPREPLY=($(compgen -W %q -- \"$cur\"))\n\t\treturn\n\tfi\n", strings.Join(names, " "))
	// A command's verbs complete in the second position; after one, its
	// flags are the verb's ("job submit").
	b.WriteString("\tlocal key=${COMP_WORDS[1]}\n\tcase $key in\n")
	for _, c := range cmds {
		if len(c.verbs) == 0 {
			continue
		}
		names := make([]string, len(c.verbs))
		for i, v := range c.verbs {
			names[i] = v.name
		}
		fmt.Fprintf(&b, "\t%s)\n\t\tif [[ $COMP_CWORD -eq 2 && $cur != -* ]]; then\n\t\t\tCOMPREPLY=($(compgen -W %q -- \"$cur\"))\n\t\t\treturn\n\t\tfi\n", c.name, strings.Join(names, " "))
		fmt.Fprintf(&b, "\t\tcase ${COMP_WORDS[2]} in %s) key=\"$key ${COMP_WORDS[2]}\" ;; esac\n\t\t;;\n", strings.Join(names, "|"))
	}
	b.WriteString("\tesac\n")
	b.WriteString("\tlocal flags='' valued=''\n\tcase $key in\n")
	for _, c := range cmds {
		bashFlags(&b, c.name, c.flags)
		for _, v := range c.verbs {
			bashFlags(&b, c.name+" "+v.name, v.flags)
		}
	}
	b.WriteString("\tesac\n")
	b.WriteString("\tlocal p=${prev#-}\n\tp=${p#-}\n")
	b.WriteString("\tif [[ $prev == -* && $valued == *\" $p \"* ]]; then\n\t\treturn # a flag's value: file names\n\tfi\n")
	b.WriteString("\tif [[ $cur == -* ]]; then\n\t\tCOMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n\tfi\n")
	b.WriteString("}\ncomplete -o default -F _shoal shoal\n")
	io.WriteString(w, b.String())
}

// bashFlags writes the case of the command (or "command verb") key: its
// flags, and those that take a value.
func bashFlags(b *strings.Builder, key string, fs []*flag.Flag) {
	if len(fs) == 0 {
		return
	}
	var flags, valued []string
	for _, f := range fs {
		flags = append(flags, dashed(f))
		if !isBool(f) {
			valued = append(valued, f.Name)
		}
	}
	if strings.Contains(key, " ") {
		key = strconv.Quote(key)
	}
	fmt.Fprintf(b, "\t%s) flags=%q valued=%q ;;\n", key, strings.Join(flags, " "), " "+strings.Join(valued, " ")+" ")
}

// writeZsh writes a zsh completion function for compdef: command names
// with their summaries, then _arguments over the command's flags with
// their usage.
func writeZsh(w io.Writer, cmds []described) {
	var b strings.Builder
	b.WriteString("#compdef shoal\n# zsh completion for shoal, made by `shoal completion zsh`.\n")
	b.WriteString("_shoal() {\n\tlocal -a commands\n\tcommands=(\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, "\t\t%s\n", zshQuote(c.name+":"+c.summary))
	}
	b.WriteString("\t)\n\tif (( CURRENT == 2 )); then\n\t\t_describe -t commands 'shoal command' commands\n\t\treturn\n\tfi\n")
	b.WriteString("\tlocal cmd=$words[2]\n\tshift words\n\t(( CURRENT-- ))\n\tcase $cmd in\n")
	for _, c := range cmds {
		if len(c.verbs) == 0 {
			fmt.Fprintf(&b, "\t%s)\n\t\t", c.name)
			zshArguments(&b, c.flags, "\t\t\t")
			b.WriteString("\n\t\t;;\n")
			continue
		}
		// The verb is the command's first argument; after it, its flags.
		fmt.Fprintf(&b, "\t%s)\n\t\tcase $words[2] in\n", c.name)
		names := make([]string, len(c.verbs))
		for i, v := range c.verbs {
			names[i] = v.name
			fmt.Fprintf(&b, "\t\t%s)\n\t\t\t", v.name)
			zshArguments(&b, v.flags, "\t\t\t\t")
			b.WriteString(" ;;\n")
		}
		b.WriteString("\t\t*)\n\t\t\t")
		zshArguments(&b, c.flags, "\t\t\t\t", zshQuote("1:verb:("+strings.Join(names, " ")+")"))
		b.WriteString(" ;;\n\t\tesac\n\t\t;;\n")
	}
	b.WriteString("\tesac\n}\n")
	// Autoloaded from $fpath the file is _shoal's body; sourced, it
	// registers the function.
	b.WriteString("if [[ $funcstack[1] == _shoal ]]; then\n\t_shoal \"$@\"\nelse\n\tcompdef _shoal shoal\nfi\n")
	io.WriteString(w, b.String())
}

// zshArguments writes a call of _arguments over flags, then the specs of
// extra arguments, then files; each spec on its own line after indent.
func zshArguments(b *strings.Builder, flags []*flag.Flag, indent string, extra ...string) {
	b.WriteString("_arguments")
	for _, f := range flags {
		usage, _, _ := strings.Cut(f.Usage, "\n")
		desc := "[" + zshEscape(usage) + "]"
		if isBool(f) {
			fmt.Fprintf(b, " \\\n%s%s", indent, zshQuote(dashed(f)+desc))
		} else {
			fmt.Fprintf(b, " \\\n%s%s", indent, zshQuote(dashed(f)+"="+desc+":"+f.Name+":_files"))
		}
	}
	for _, x := range append(extra, "'*:file:_files'") {
		fmt.Fprintf(b, " \\\n%s%s", indent, x)
	}
}

// zshEscape escapes what _arguments reads in an option's description.
func zshEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`, ":", `\:`).Replace(s)
}

// zshQuote single-quotes s for zsh.
func zshQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
