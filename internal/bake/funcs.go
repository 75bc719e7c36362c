package bake

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"net/url"
	"os"
	"os/user"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"
)

// builtins is every function buildx's bake offers (v0.38.2), by name. Most are go-cty's stdlib or
// hcl's extensions; the rest are written here with the same behaviour.
var builtins = map[string]function.Function{
	"absolute": stdlib.AbsoluteFunc, "add": stdlib.AddFunc, "and": stdlib.AndFunc,
	"base64decode": base64DecodeFunc, "base64encode": base64EncodeFunc, "basename": basenameFunc,
	"bcrypt": bcryptFunc, "byteslen": stdlib.BytesLenFunc, "bytesslice": stdlib.BytesSliceFunc,
	"can": tryfunc.CanFunc, "ceil": stdlib.CeilFunc, "chomp": stdlib.ChompFunc, "chunklist": stdlib.ChunklistFunc,
	"cidrhost": cidrHostFunc, "cidrnetmask": cidrNetmaskFunc, "cidrsubnet": cidrSubnetFunc, "cidrsubnets": cidrSubnetsFunc,
	"coalesce": stdlib.CoalesceFunc, "coalescelist": stdlib.CoalesceListFunc, "compact": stdlib.CompactFunc,
	"concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc, "convert": typeexpr.ConvertFunc,
	"csvdecode": stdlib.CSVDecodeFunc, "dirname": dirnameFunc, "distinct": stdlib.DistinctFunc,
	"divide": stdlib.DivideFunc, "element": stdlib.ElementFunc, "equal": stdlib.EqualFunc,
	"flatten": stdlib.FlattenFunc, "floor": stdlib.FloorFunc, "format": stdlib.FormatFunc,
	"formatdate": stdlib.FormatDateFunc, "formattimestamp": formatTimestampFunc, "formatlist": stdlib.FormatListFunc,
	"greaterthan": stdlib.GreaterThanFunc, "greaterthanorequalto": stdlib.GreaterThanOrEqualToFunc,
	"hasindex": stdlib.HasIndexFunc, "homedir": homedirFunc, "indent": stdlib.IndentFunc, "index": stdlib.IndexFunc,
	"indexof": indexOfFunc, "int": stdlib.IntFunc, "join": stdlib.JoinFunc, "jsondecode": stdlib.JSONDecodeFunc,
	"jsonencode": stdlib.JSONEncodeFunc, "keys": stdlib.KeysFunc, "length": stdlib.LengthFunc,
	"lessthan": stdlib.LessThanFunc, "lessthanorequalto": stdlib.LessThanOrEqualToFunc, "log": stdlib.LogFunc,
	"lookup": stdlib.LookupFunc, "lower": stdlib.LowerFunc, "max": stdlib.MaxFunc, "md5": hashFunc(md5Hex),
	"merge": stdlib.MergeFunc, "min": stdlib.MinFunc, "modulo": stdlib.ModuloFunc, "multiply": stdlib.MultiplyFunc,
	"negate": stdlib.NegateFunc, "not": stdlib.NotFunc, "notequal": stdlib.NotEqualFunc, "or": stdlib.OrFunc,
	"parseint": stdlib.ParseIntFunc, "pow": stdlib.PowFunc, "range": stdlib.RangeFunc,
	"regex_replace": stdlib.RegexReplaceFunc, "regex": stdlib.RegexFunc, "regexall": stdlib.RegexAllFunc,
	"replace": stdlib.ReplaceFunc, "reverse": stdlib.ReverseFunc, "reverselist": stdlib.ReverseListFunc,
	"rsadecrypt": rsaDecryptFunc, "sanitize": sanitizeFunc, "semvercmp": semvercmpFunc,
	"sethaselement": stdlib.SetHasElementFunc, "setintersection": stdlib.SetIntersectionFunc,
	"setproduct": stdlib.SetProductFunc, "setsubtract": stdlib.SetSubtractFunc,
	"setsymmetricdifference": stdlib.SetSymmetricDifferenceFunc, "setunion": stdlib.SetUnionFunc,
	"sha1": hashFunc(sha1Hex), "sha256": hashFunc(sha256Hex), "sha512": hashFunc(sha512Hex),
	"signum": stdlib.SignumFunc, "slice": stdlib.SliceFunc, "sort": stdlib.SortFunc, "split": stdlib.SplitFunc,
	"strlen": stdlib.StrlenFunc, "substr": stdlib.SubstrFunc, "subtract": stdlib.SubtractFunc,
	"timeadd": stdlib.TimeAddFunc, "timestamp": timestampFunc, "title": stdlib.TitleFunc, "trim": stdlib.TrimFunc,
	"trimprefix": stdlib.TrimPrefixFunc, "trimspace": stdlib.TrimSpaceFunc, "trimsuffix": stdlib.TrimSuffixFunc,
	"try": tryfunc.TryFunc, "unixtimestampparse": unixTimestampParseFunc, "upper": stdlib.UpperFunc,
	"urlencode": urlEncodeFunc, "uuidv4": uuidV4Func, "uuidv5": uuidV5Func, "values": stdlib.ValuesFunc,
	"zipmap": stdlib.ZipmapFunc,
}

// FunctionNames lists the built-in HCL functions bake expressions may call, sorted.
func FunctionNames() []string { return sortedKeys(builtins) }

// stringFunc builds a function of one string returning a string.
func stringFunc(param string, f func(string) (string, error)) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: param, Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			s, err := f(args[0].AsString())
			if err != nil {
				return cty.UnknownVal(cty.String), function.NewArgError(0, err)
			}
			return cty.StringVal(s), nil
		},
	})
}

func md5Hex(s string) string    { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
func sha1Hex(s string) string   { h := sha1.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
func sha256Hex(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
func sha512Hex(s string) string { h := sha512.Sum512([]byte(s)); return hex.EncodeToString(h[:]) }

// hashFunc builds a hex-digest function of one string.
func hashFunc(h func(string) string) function.Function {
	return stringFunc("str", func(s string) (string, error) { return h(s), nil })
}

var (
	base64EncodeFunc = stringFunc("str", func(s string) (string, error) {
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	})
	base64DecodeFunc = stringFunc("str", func(s string) (string, error) {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return "", fmt.Errorf("failed to decode base64 data %q", s)
		}
		if !utf8.Valid(b) {
			return "", errors.New("the result of decoding the provided string is not valid UTF-8")
		}
		return string(b), nil
	})
	urlEncodeFunc = stringFunc("str", func(s string) (string, error) { return url.QueryEscape(s), nil })
	basenameFunc  = stringFunc("path", func(s string) (string, error) { return path.Base(s), nil })
	dirnameFunc   = stringFunc("path", func(s string) (string, error) { return path.Dir(s), nil })
	// sanitizeFunc replaces every character not valid in a target name ([a-zA-Z0-9_-]) with '_'.
	sanitizeFunc = stringFunc("name", func(s string) (string, error) {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
				return r
			}
			return '_'
		}, s), nil
	})
	bcryptFunc = function.New(&function.Spec{
		Params:   []function.Parameter{{Name: "str", Type: cty.String}},
		VarParam: &function.Parameter{Name: "cost", Type: cty.Number},
		Type:     function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			cost := bcrypt.DefaultCost
			if len(args) > 1 {
				c, _ := args[1].AsBigFloat().Int64()
				if err := checkBcryptCost(c); err != nil {
					return cty.UnknownVal(cty.String), function.NewArgError(1, err)
				}
				cost = int(c)
			}
			if len(args) > 2 {
				return cty.UnknownVal(cty.String), errors.New("bcrypt() takes no more than two arguments")
			}
			h, err := bcrypt.GenerateFromPassword([]byte(args[0].AsString()), cost)
			if err != nil {
				return cty.UnknownVal(cty.String), fmt.Errorf("error occurred generating password %s", err)
			}
			return cty.StringVal(string(h)), nil
		},
	})
	rsaDecryptFunc = function.New(&function.Spec{
		Params: []function.Parameter{{Name: "ciphertext", Type: cty.String}, {Name: "privatekey", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			b, err := base64.StdEncoding.DecodeString(args[0].AsString())
			if err != nil {
				return cty.UnknownVal(cty.String), function.NewArgErrorf(0, "failed to decode input %q: cipher text must be base64-encoded", args[0].AsString())
			}
			raw, err := ssh.ParseRawPrivateKey([]byte(args[1].AsString()))
			if err != nil {
				return cty.UnknownVal(cty.String), function.NewArgErrorf(1, "invalid private key: %s", err)
			}
			key, ok := raw.(*rsa.PrivateKey)
			if !ok {
				return cty.UnknownVal(cty.String), function.NewArgErrorf(1, "invalid private key type %T", raw)
			}
			out, err := rsa.DecryptPKCS1v15(nil, key, b)
			if err != nil {
				return cty.UnknownVal(cty.String), fmt.Errorf("failed to decrypt: %s", err)
			}
			return cty.StringVal(string(out)), nil
		},
	})
	uuidV4Func = function.New(&function.Spec{
		Type: function.StaticReturnType(cty.String),
		Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
			var b [16]byte
			if _, err := rand.Read(b[:]); err != nil {
				return cty.UnknownVal(cty.String), err
			}
			b[6] = b[6]&0x0f | 0x40
			b[8] = b[8]&0x3f | 0x80
			return cty.StringVal(formatUUID(b)), nil
		},
	})
	uuidV5Func = function.New(&function.Spec{
		Params: []function.Parameter{{Name: "namespace", Type: cty.String}, {Name: "name", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			ns, ok := uuidNamespaces[args[0].AsString()]
			if !ok {
				var err error
				if ns, err = parseUUID(args[0].AsString()); err != nil {
					return cty.UnknownVal(cty.String), fmt.Errorf("uuidv5() doesn't support namespace %s (%v)", args[0].AsString(), err)
				}
			}
			h := sha1.New()
			h.Write(ns[:])
			h.Write([]byte(args[1].AsString()))
			var b [16]byte
			copy(b[:], h.Sum(nil))
			b[6] = b[6]&0x0f | 0x50
			b[8] = b[8]&0x3f | 0x80
			return cty.StringVal(formatUUID(b)), nil
		},
	})
	homedirFunc = function.New(&function.Spec{
		Type: function.StaticReturnType(cty.String),
		Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
			if home, err := os.UserHomeDir(); err == nil {
				return cty.StringVal(home), nil
			}
			if u, err := user.Current(); err == nil && u.HomeDir != "" {
				return cty.StringVal(u.HomeDir), nil
			}
			return cty.UnknownVal(cty.String), errors.New("the current user's home directory is unknown")
		},
	})
	timestampFunc = function.New(&function.Spec{
		Type: function.StaticReturnType(cty.String),
		Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
			return cty.StringVal(time.Now().UTC().Format(time.RFC3339)), nil
		},
	})
	semvercmpFunc = function.New(&function.Spec{
		Params: []function.Parameter{{Name: "version", Type: cty.String}, {Name: "constraint", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			v, err := semver.NewVersion(args[0].AsString())
			if err != nil {
				return cty.UnknownVal(cty.Bool), err
			}
			c, err := semver.NewConstraint(args[1].AsString())
			if err != nil {
				return cty.UnknownVal(cty.Bool), err
			}
			return cty.BoolVal(c.Check(v)), nil
		},
	})
	indexOfFunc = function.New(&function.Spec{
		Params: []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}, {Name: "value", Type: cty.DynamicPseudoType}},
		Type:   function.StaticReturnType(cty.Number),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			l := args[0]
			if !l.Type().IsListType() && !l.Type().IsTupleType() {
				return cty.NilVal, errors.New("argument must be a list or tuple")
			}
			if !l.IsKnown() {
				return cty.UnknownVal(cty.Number), nil
			}
			if l.LengthInt() == 0 {
				return cty.NilVal, errors.New("cannot search an empty list")
			}
			for it := l.ElementIterator(); it.Next(); {
				i, e := it.Element()
				eq, err := stdlib.Equal(e, args[1])
				if err != nil {
					return cty.NilVal, err
				}
				if !eq.IsKnown() {
					return cty.UnknownVal(cty.Number), nil
				}
				if eq.True() {
					return i, nil
				}
			}
			return cty.NilVal, errors.New("item not found")
		},
	})
	formatTimestampFunc = function.New(&function.Spec{
		Params: []function.Parameter{{Name: "format", Type: cty.String}, {Name: "time", Type: cty.DynamicPseudoType}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			format := args[0].AsString()
			var ts string
			switch args[1].Type() {
			case cty.String:
				ts = args[1].AsString()
				if format == "X" {
					t, err := time.Parse(time.RFC3339, ts)
					if err != nil {
						return cty.DynamicVal, function.NewArgErrorf(1, "timestamp string must be RFC3339")
					}
					return cty.StringVal(strconv.FormatInt(t.Unix(), 10)), nil
				}
			case cty.Number:
				t, err := unixTime(args[1])
				if err != nil {
					return cty.DynamicVal, function.NewArgError(1, err)
				}
				if format == "X" {
					return cty.StringVal(strconv.FormatInt(t.Unix(), 10)), nil
				}
				ts = t.Format(time.RFC3339)
			default:
				return cty.DynamicVal, function.NewArgErrorf(1, "must be a string timestamp or a unix timestamp number")
			}
			return stdlib.FormatDateFunc.Call([]cty.Value{args[0], cty.StringVal(ts)})
		},
	})
	unixTimestampParseFunc = function.New(&function.Spec{
		Params: []function.Parameter{{Name: "unix_timestamp", Type: cty.Number}},
		Type: function.StaticReturnType(cty.Object(map[string]cty.Type{
			"year": cty.Number, "year_day": cty.Number, "day": cty.Number, "month": cty.Number,
			"month_name": cty.String, "weekday": cty.Number, "weekday_name": cty.String, "hour": cty.Number,
			"minute": cty.Number, "second": cty.Number, "rfc3339": cty.String, "iso_year": cty.Number, "iso_week": cty.Number,
		})),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			t, err := unixTime(args[0])
			if err != nil {
				return cty.DynamicVal, function.NewArgError(0, err)
			}
			isoYear, isoWeek := t.ISOWeek()
			n := func(i int) cty.Value { return cty.NumberIntVal(int64(i)) }
			return cty.ObjectVal(map[string]cty.Value{
				"year": n(t.Year()), "year_day": n(t.YearDay()), "day": n(t.Day()), "month": n(int(t.Month())),
				"month_name": cty.StringVal(t.Month().String()), "weekday": n(int(t.Weekday())),
				"weekday_name": cty.StringVal(t.Weekday().String()), "hour": n(t.Hour()), "minute": n(t.Minute()),
				"second": n(t.Second()), "rfc3339": cty.StringVal(t.Format(time.RFC3339)),
				"iso_year": n(isoYear), "iso_week": n(isoWeek),
			}), nil
		},
	})
)

// MaxBcryptCost is the highest cost bcrypt() accepts in a bake file. bcrypt's work doubles with
// each step of its cost: the default, 10, takes about 0.1 s, 14 about a second, and bcrypt's own
// maximum, 31, more than two days, during which the pipeline that evaluates the file hangs. buildx
// takes any cost up to 31; this package refuses what would stall a pipeline.
const MaxBcryptCost = 14

// checkBcryptCost refuses a bcrypt cost above MaxBcryptCost, naming the cost given and the
// maximum. Costs below bcrypt's minimum (4) pass: bcrypt uses its default for them, as in buildx.
func checkBcryptCost(cost int64) error {
	if cost > MaxBcryptCost {
		return fmt.Errorf("bcrypt cost %d is above the maximum of %d: each step of the cost doubles the work "+
			"(%d takes about a second, 31 more than two days), so evaluating the bake file would stall the pipeline; "+
			"use a cost of at most %d (bcrypt's default is 10)", cost, MaxBcryptCost, MaxBcryptCost, MaxBcryptCost)
	}
	return nil
}

// unixTime converts an integral number of seconds since the epoch to a UTC time.
func unixTime(v cty.Value) (time.Time, error) {
	secs, acc := v.AsBigFloat().Int64()
	if acc != big.Exact {
		return time.Time{}, errors.New("unix timestamp must be an integer")
	}
	return time.Unix(secs, 0).UTC(), nil
}

// uuidNamespaces are the well-known namespaces uuidv5 accepts by name (RFC 4122).
var uuidNamespaces = map[string][16]byte{
	"dns":  mustUUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
	"url":  mustUUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8"),
	"oid":  mustUUID("6ba7b812-9dad-11d1-80b4-00c04fd430c8"),
	"x500": mustUUID("6ba7b814-9dad-11d1-80b4-00c04fd430c8"),
}

func mustUUID(s string) [16]byte {
	u, err := parseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}

// parseUUID reads the canonical 8-4-4-4-12 hexadecimal form.
func parseUUID(s string) ([16]byte, error) {
	var u [16]byte
	h := strings.ReplaceAll(s, "-", "")
	if len(s) != 36 || len(h) != 32 {
		return u, fmt.Errorf("invalid UUID %q", s)
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return u, fmt.Errorf("invalid UUID %q", s)
	}
	copy(u[:], b)
	return u, nil
}

func formatUUID(b [16]byte) string {
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// cidr functions: the Terraform-style IP prefix arithmetic.

func parsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, fmt.Errorf("invalid CIDR expression: %s", err)
	}
	return p.Masked(), nil
}

// addrInt returns an address as an integer and its bit length.
func addrInt(a netip.Addr) (*big.Int, int) {
	return new(big.Int).SetBytes(a.AsSlice()), a.BitLen()
}

func intAddr(n *big.Int, bits int) netip.Addr {
	b := n.FillBytes(make([]byte, bits/8))
	a, _ := netip.AddrFromSlice(b)
	return a
}

// subnet extends prefix p by newbits and picks subnet number num.
func subnet(p netip.Prefix, newbits int, num *big.Int) (netip.Prefix, error) {
	base, bits := addrInt(p.Addr())
	newLen := p.Bits() + newbits
	if newbits < 0 || newLen > bits {
		return netip.Prefix{}, fmt.Errorf("insufficient address space to extend prefix of %d by %d", p.Bits(), newbits)
	}
	if num.Sign() < 0 || num.BitLen() > newbits {
		return netip.Prefix{}, fmt.Errorf("prefix extension of %d does not accommodate a subnet numbered %s", newbits, num)
	}
	n := new(big.Int).Lsh(num, uint(bits-newLen))
	return netip.PrefixFrom(intAddr(n.Or(n, base), bits), newLen), nil
}

var (
	cidrHostFunc = function.New(&function.Spec{
		Params: []function.Parameter{{Name: "prefix", Type: cty.String}, {Name: "hostnum", Type: cty.Number}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p, err := parsePrefix(args[0].AsString())
			if err != nil {
				return cty.UnknownVal(cty.String), err
			}
			num, _ := args[1].AsBigFloat().Int(nil)
			base, bits := addrInt(p.Addr())
			size := new(big.Int).Lsh(big.NewInt(1), uint(bits-p.Bits()))
			if num.Sign() < 0 {
				num.Add(num, size)
			}
			if num.Sign() < 0 || num.Cmp(size) >= 0 {
				return cty.UnknownVal(cty.String), fmt.Errorf("prefix of %d does not accommodate a host numbered %s", p.Bits(), args[1].AsBigFloat().String())
			}
			return cty.StringVal(intAddr(num.Add(num, base), bits).String()), nil
		},
	})
	cidrNetmaskFunc = function.New(&function.Spec{
		Params: []function.Parameter{{Name: "prefix", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p, err := parsePrefix(args[0].AsString())
			if err != nil {
				return cty.UnknownVal(cty.String), err
			}
			bits := p.Addr().BitLen()
			mask := new(big.Int).Lsh(big.NewInt(1), uint(bits))
			mask.Sub(mask, new(big.Int).Lsh(big.NewInt(1), uint(bits-p.Bits())))
			return cty.StringVal(intAddr(mask, bits).String()), nil
		},
	})
	cidrSubnetFunc = function.New(&function.Spec{
		Params: []function.Parameter{{Name: "prefix", Type: cty.String}, {Name: "newbits", Type: cty.Number}, {Name: "netnum", Type: cty.Number}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p, err := parsePrefix(args[0].AsString())
			if err != nil {
				return cty.UnknownVal(cty.String), err
			}
			nb, _ := args[1].AsBigFloat().Int64()
			num, _ := args[2].AsBigFloat().Int(nil)
			s, err := subnet(p, int(nb), num)
			if err != nil {
				return cty.UnknownVal(cty.String), err
			}
			return cty.StringVal(s.String()), nil
		},
	})
	cidrSubnetsFunc = function.New(&function.Spec{
		Params:   []function.Parameter{{Name: "prefix", Type: cty.String}},
		VarParam: &function.Parameter{Name: "newbits", Type: cty.Number},
		Type:     function.StaticReturnType(cty.List(cty.String)),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p, err := parsePrefix(args[0].AsString())
			if err != nil {
				return cty.UnknownVal(cty.List(cty.String)), function.NewArgError(0, err)
			}
			if len(args) == 1 {
				return cty.ListValEmpty(cty.String), nil
			}
			base, bits := addrInt(p.Addr())
			next := new(big.Int).Set(base) // first free address
			var out []cty.Value
			for i, a := range args[1:] {
				nb, _ := a.AsBigFloat().Int64()
				newLen := p.Bits() + int(nb)
				if nb < 1 || newLen > bits {
					return cty.UnknownVal(cty.List(cty.String)), function.NewArgErrorf(i+1, "would extend prefix to %d bits, which is too long for an address of %d bits", newLen, bits)
				}
				size := new(big.Int).Lsh(big.NewInt(1), uint(bits-newLen))
				// align next up to a multiple of size
				rem := new(big.Int).Mod(next, size)
				if rem.Sign() != 0 {
					next.Add(next, new(big.Int).Sub(size, rem))
				}
				end := new(big.Int).Add(base, new(big.Int).Lsh(big.NewInt(1), uint(bits-p.Bits())))
				if new(big.Int).Add(next, size).Cmp(end) > 0 {
					return cty.UnknownVal(cty.List(cty.String)), function.NewArgErrorf(i+1, "not enough remaining address space for a subnet with a prefix of %d bits after %s", newLen, intAddr(next, bits))
				}
				out = append(out, cty.StringVal(netip.PrefixFrom(intAddr(next, bits), newLen).String()))
				next.Add(next, size)
			}
			return cty.ListVal(out), nil
		},
	})
)
