#include "textflag.h"

// func rowAxpyAVX512(x *float32, k int, w *float32, ldw, n int, acc *float32)
//
// acc[0:n] += x[p] * w[p*ldw : p*ldw+n] summed over p < k, for 0 < n <= 64
// and k > 0: one row of a dense layer's input times its weights, read where
// they lie. The n columns are four 16-lane accumulators under masks; the
// masked-off lanes are neither loaded nor stored.
TEXT ·rowAxpyAVX512(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ k+8(FP), CX
	MOVQ w+16(FP), DI
	MOVQ ldw+24(FP), BX
	MOVQ n+32(FP), DX
	MOVQ acc+40(FP), R8
	SHLQ $2, BX                 // ldw in bytes
	// The mask of n columns, (1<<n)-1, or every bit for n = 64.
	MOVQ $-1, AX
	CMPQ DX, $64
	JGE  masks
	MOVQ $1, AX
	MOVQ DX, R9
	XCHGQ R9, CX
	SHLQ CX, AX
	XCHGQ R9, CX
	DECQ AX

masks:
	KMOVW AX, K1
	SHRQ $16, AX
	KMOVW AX, K2
	SHRQ $16, AX
	KMOVW AX, K3
	SHRQ $16, AX
	KMOVW AX, K4
	VMOVUPS.Z (R8), K1, Z0
	VMOVUPS.Z 64(R8), K2, Z1
	VMOVUPS.Z 128(R8), K3, Z2
	VMOVUPS.Z 192(R8), K4, Z3

loop:
	VBROADCASTSS (SI), Z8
	VFMADD231PS (DI), Z8, K1, Z0
	VFMADD231PS 64(DI), Z8, K2, Z1
	VFMADD231PS 128(DI), Z8, K3, Z2
	VFMADD231PS 192(DI), Z8, K4, Z3
	ADDQ $4, SI
	ADDQ BX, DI
	DECQ CX
	JNZ  loop

	VMOVUPS Z0, K1, (R8)
	VMOVUPS Z1, K2, 64(R8)
	VMOVUPS Z2, K3, 128(R8)
	VMOVUPS Z3, K4, 192(R8)
	VZEROUPPER
	RET
