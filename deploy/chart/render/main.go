// A stand-in for `helm template` where no helm binary exists (chart.test.ts builds and runs it when Go
// and Debian's golang-github-masterminds-sprig-dev and golang-github-ghodss-yaml-dev are installed).
// It renders with what Helm renders with: Go's text/template, sprig's functions (without env and
// expandenv) and the ones Helm adds (include, required, fail, toYaml, toJson; lookup finds nothing,
// as in `helm template`); override files are merged over values.yaml map by map. It does not
// validate against the schema, check Kubernetes API versions or run hooks: it is not helm.
//
// Usage: chartrender CHART_DIR [VALUES_FILE...]  -> the rendered manifests on stdout, NOTES.txt on
// stderr, or the error and exit code 2 when rendering fails (the validation helper's fail).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"github.com/ghodss/yaml"
)

func merge(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if sm, ok := v.(map[string]interface{}); ok {
			if dm, ok := dst[k].(map[string]interface{}); ok {
				dst[k] = merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

func readYaml(path string) map[string]interface{} {
	data, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	out := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &out); err != nil {
		panic(fmt.Errorf("%s: %w", path, err))
	}
	return out
}

func main() {
	chart := os.Args[1]
	values := readYaml(filepath.Join(chart, "values.yaml"))
	for _, f := range os.Args[2:] {
		values = merge(values, readYaml(f))
	}
	meta := readYaml(filepath.Join(chart, "Chart.yaml"))
	name := meta["name"].(string)

	t := template.New("gotpl").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	includedNames := map[string]int{}
	funcs["include"] = func(n string, data interface{}) (string, error) {
		includedNames[n]++
		if includedNames[n] > 1000 {
			return "", errors.New("include recursion")
		}
		var buf bytes.Buffer
		err := t.ExecuteTemplate(&buf, n, data)
		includedNames[n]--
		return buf.String(), err
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil || v == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	funcs["fail"] = func(msg string) (string, error) { return "", errors.New(msg) }
	funcs["toYaml"] = func(v interface{}) string {
		data, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(data), "\n")
	}
	funcs["toJson"] = func(v interface{}) string {
		data, _ := json.Marshal(v)
		return string(data)
	}
	funcs["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	t.Funcs(funcs)

	dir := filepath.Join(chart, "templates")
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		body, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		tname := name + "/templates/" + e.Name()
		if _, err := t.New(tname).Parse(string(body)); err != nil {
			fmt.Fprintln(os.Stderr, "parse:", err)
			os.Exit(3)
		}
		names = append(names, tname)
	}
	sort.Strings(names)
	top := map[string]interface{}{
		"Values":       values,
		"Chart":        map[string]interface{}{"Name": name, "Version": meta["version"], "AppVersion": meta["appVersion"]},
		"Release":      map[string]interface{}{"Name": "rel", "Namespace": "ns", "Service": "Helm", "IsInstall": true, "IsUpgrade": false},
		"Capabilities": map[string]interface{}{},
	}
	var out bytes.Buffer
	for _, n := range names {
		base := filepath.Base(n)
		if strings.HasPrefix(base, "_") {
			continue
		}
		top["Template"] = map[string]interface{}{"Name": n, "BasePath": name + "/templates"}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, n, top); err != nil {
			fmt.Fprintln(os.Stderr, "render:", err)
			os.Exit(2)
		}
		s := strings.ReplaceAll(buf.String(), "<no value>", "")
		if base == "NOTES.txt" {
			// Rendered to catch its errors; printed to stderr, like helm install prints it.
			fmt.Fprintln(os.Stderr, s)
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", n, s)
	}
	os.Stdout.Write(out.Bytes())
}
