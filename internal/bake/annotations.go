package bake

import (
	"fmt"
	"maps"
	"regexp"
	"strings"
)

// The places an annotation goes, as bake names them.
const (
	// AnnotationManifest is the image manifest (the default when no place is written).
	AnnotationManifest = "manifest"
	// AnnotationIndex is the multi-platform index.
	AnnotationIndex = "index"
	// AnnotationManifestDescriptor is the image's entry in the index.
	AnnotationManifestDescriptor = "manifest-descriptor"
	// AnnotationIndexDescriptor is the index's entry in an OCI layout, which a registry push
	// does not have.
	AnnotationIndexDescriptor = "index-descriptor"
)

// Annotation is one OCI annotation a target asks for: Key=Value at Place, for the images of
// Platform only when it is set.
type Annotation struct {
	Place    string
	Platform *Platform
	Key      string
	Value    string
}

// annotationPlace is a place and an optional platform in brackets: manifest[linux/arm64].
var annotationPlace = regexp.MustCompile(`^([a-z-]+)(?:\[([A-Za-z0-9_/-]+)\])?$`)

// ParseAnnotations reads bake's annotations: "KEY=VALUE" (the manifest), or
// "PLACE[,PLACE…]:KEY=VALUE" where a place is manifest, index, manifest-descriptor or
// index-descriptor, optionally with a platform in brackets (manifest[linux/arm64]:KEY=VALUE).
// An entry naming several places gives one Annotation per place.
func ParseAnnotations(list []string) ([]Annotation, error) {
	var out []Annotation
	for _, s := range list {
		if s == "" {
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("%w: annotation %q: want KEY=VALUE or PLACE:KEY=VALUE (PLACE: manifest, index, manifest-descriptor)", ErrInvalid, s)
		}
		places, key, ok := strings.Cut(k, ":")
		if !ok {
			out = append(out, Annotation{Place: AnnotationManifest, Key: k, Value: v})
			continue
		}
		if key == "" {
			return nil, fmt.Errorf("%w: annotation %q has no key before '='", ErrInvalid, s)
		}
		for _, one := range strings.Split(places, ",") {
			m := annotationPlace.FindStringSubmatch(one)
			if m == nil {
				return nil, fmt.Errorf("%w: annotation %q: place %q is not PLACE or PLACE[os/arch]", ErrInvalid, s, one)
			}
			a := Annotation{Place: m[1], Key: key, Value: v}
			switch a.Place {
			case AnnotationManifest, AnnotationIndex, AnnotationManifestDescriptor:
			case AnnotationIndexDescriptor:
				return nil, fmt.Errorf("%w: annotation %q: an index-descriptor annotation exists only in an OCI layout, and shipyard pushes to registries; use index: to annotate the index itself",
					ErrUnsupported, s)
			default:
				return nil, fmt.Errorf("%w: annotation %q: unknown place %q; use manifest, index or manifest-descriptor", ErrInvalid, s, a.Place)
			}
			if m[2] != "" {
				p, err := ParsePlatform(m[2])
				if err != nil {
					return nil, fmt.Errorf("annotation %q: %w", s, err)
				}
				a.Platform = &p
			}
			out = append(out, a)
		}
	}
	return out, nil
}

// AnnotationsAt are the annotations of anns at place for the image of platform ("" for the
// index, whose annotations a platform filter never selects), later entries winning; nil when
// none.
func AnnotationsAt(anns []Annotation, place, platform string) map[string]string {
	out := map[string]string{}
	for _, a := range anns {
		if a.Place != place {
			continue
		}
		if a.Platform != nil && (platform == "" || a.Platform.String() != platform) {
			continue
		}
		out[a.Key] = a.Value
	}
	if len(out) == 0 {
		return nil
	}
	return maps.Clone(out)
}
