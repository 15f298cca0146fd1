package experiments

import "strings"

// Device kinds a Spec may ask for (Spec.Device); empty means DeviceAny.
const (
	DeviceAny = "any"
	DeviceCPU = "cpu"
	DeviceGPU = "gpu"
)

// DeviceKinds lists the kinds a Spec may ask for, in the order the form shows them.
var DeviceKinds = []string{DeviceAny, DeviceCPU, DeviceGPU}

// DeviceKind says of which kind a worker's device is: "cpu" is a CPU, a
// CUDA device ("cuda:0") or "gpu..." a GPU; anything else is "".
func DeviceKind(device string) string {
	switch {
	case device == "cpu" || strings.HasPrefix(device, "cpu:"):
		return DeviceCPU
	case strings.HasPrefix(device, "cuda") || strings.HasPrefix(device, "gpu"):
		return DeviceGPU
	}
	return ""
}

// DeviceKindOf is the kind of device the spec asks for: its Device, or
// DeviceAny when it names none.
func (s Spec) DeviceKindOf() string {
	if s.Device == "" {
		return DeviceAny
	}
	return s.Device
}
