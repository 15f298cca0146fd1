#include "textflag.h"

DATA poolEven<>+0(SB)/4, $0
DATA poolEven<>+4(SB)/4, $2
DATA poolEven<>+8(SB)/4, $4
DATA poolEven<>+12(SB)/4, $6
DATA poolEven<>+16(SB)/4, $8
DATA poolEven<>+20(SB)/4, $10
DATA poolEven<>+24(SB)/4, $12
DATA poolEven<>+28(SB)/4, $14
DATA poolEven<>+32(SB)/4, $16
DATA poolEven<>+36(SB)/4, $18
DATA poolEven<>+40(SB)/4, $20
DATA poolEven<>+44(SB)/4, $22
DATA poolEven<>+48(SB)/4, $24
DATA poolEven<>+52(SB)/4, $26
DATA poolEven<>+56(SB)/4, $28
DATA poolEven<>+60(SB)/4, $30
GLOBL poolEven<>(SB), RODATA|NOPTR, $64

// POOL16 pools 16 outputs (fewer under the masks K1, K2 of the input
// columns) from the rows at SI and SI+BX into Z8 (maxima) and Z11 (indices
// relative to the plane, from the running base Z12).
#define POOL16 \
	VMOVUPS.Z (SI), K1, Z0 \
	VMOVUPS.Z 64(SI), K2, Z1 \
	VMOVUPS.Z (SI)(BX*1), K1, Z4 \
	VMOVUPS.Z 64(SI)(BX*1), K2, Z5 \
	VMOVUPS Z0, Z2 \
	VPERMT2PS Z1, Z30, Z2 \
	VPERMT2PS Z1, Z31, Z0 \
	VMOVUPS Z4, Z6 \
	VPERMT2PS Z5, Z30, Z6 \
	VPERMT2PS Z5, Z31, Z4 \
	VMAXPS Z0, Z2, Z8 \
	VMAXPS Z4, Z6, Z9 \
	VMAXPS Z9, Z8, Z8 \
	VCMPPS $3, Z0, Z2, K4 \
	VCMPPS $3, Z4, Z6, K5 \
	KORW K4, K5, K4 \
	VADDPS Z0, Z2, Z10 \
	VADDPS Z6, Z10, Z10 \
	VADDPS Z4, Z10, Z10 \
	VMOVUPS Z10, K4, Z8 \
	VMOVDQA32 Z27, Z11 \
	VCMPPS $0, Z8, Z6, K4 \
	VMOVDQA32 Z28, K4, Z11 \
	VCMPPS $0, Z8, Z0, K4 \
	VMOVDQA32 Z26, K4, Z11 \
	VCMPPS $0, Z8, Z2, K4 \
	VMOVDQA32 Z25, K4, Z11 \
	VPADDD Z12, Z11, Z11 \
	VPADDD Z24, Z12, Z12

// func pool2AVX512(x *float32, w, ho, wo int, y *float32, argmax *int32, iw int)
//
// 2x2 max pooling with stride 2 of one plane x (rows w floats apart) into y
// (ho x wo) and the index of each maximum into argmax, counted with rows iw
// apart, exactly as the Go function pool2: the maximum is NaN when any of the
// four is, and the index is that of the first of a, b, c, d (row-major) equal
// to it, else d's.
TEXT ·pool2AVX512(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), BX
	MOVQ ho+16(FP), R9
	MOVQ wo+24(FP), R10
	MOVQ y+32(FP), DI
	MOVQ argmax+40(FP), R8
	MOVQ iw+48(FP), R12
	VMOVDQU32 poolEven<>(SB), Z30
	VPBROADCASTD R12, Z28       // iw
	MOVL $1, AX
	VPBROADCASTD AX, Z26        // 1
	VPADDD Z26, Z28, Z27        // iw+1
	VPXORD Z25, Z25, Z25        // 0
	MOVL $32, AX
	VPBROADCASTD AX, Z24        // 32
	VPADDD Z26, Z30, Z31        // odd columns: 1, 3, ..., 31
	SHLQ $2, BX                 // w in bytes
	// Masks of the last group: 2*t input columns and t outputs, t = wo%16.
	MOVQ R10, CX
	ANDQ $15, CX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K3
	MOVQ CX, DX
	SHLQ $1, DX
	MOVQ $1, AX
	MOVQ DX, CX
	SHLQ CX, AX
	DECQ AX
	KMOVQ AX, K6
	XORQ DX, DX                 // index of the row pair's first element

row:
	VPBROADCASTD DX, Z12
	VPADDD Z30, Z12, Z12        // base of the first group: 2*lane
	MOVQ SI, R11
	MOVQ R10, CX
	KXNORW K1, K1, K1
	KXNORW K2, K2, K2

group:
	CMPQ CX, $16
	JLT  tail
	POOL16
	VMOVUPS Z8, (DI)
	VMOVDQU32 Z11, (R8)
	ADDQ $128, SI
	ADDQ $64, DI
	ADDQ $64, R8
	SUBQ $16, CX
	JMP  group

tail:
	TESTQ CX, CX
	JZ    rowdone
	KMOVW K6, K1
	KSHIFTRQ $16, K6, K2
	POOL16
	VMOVUPS Z8, K3, (DI)
	VMOVDQU32 Z11, K3, (R8)
	LEAQ (DI)(CX*4), DI
	LEAQ (R8)(CX*4), R8

rowdone:
	MOVQ R11, SI
	LEAQ (SI)(BX*2), SI
	LEAQ (DX)(R12*2), DX        // the next row pair: 2*iw
	DECQ R9
	JNZ  row
	VZEROUPPER
	RET

DATA poolLo<>+0(SB)/4, $0
DATA poolLo<>+4(SB)/4, $16
DATA poolLo<>+8(SB)/4, $1
DATA poolLo<>+12(SB)/4, $17
DATA poolLo<>+16(SB)/4, $2
DATA poolLo<>+20(SB)/4, $18
DATA poolLo<>+24(SB)/4, $3
DATA poolLo<>+28(SB)/4, $19
DATA poolLo<>+32(SB)/4, $4
DATA poolLo<>+36(SB)/4, $20
DATA poolLo<>+40(SB)/4, $5
DATA poolLo<>+44(SB)/4, $21
DATA poolLo<>+48(SB)/4, $6
DATA poolLo<>+52(SB)/4, $22
DATA poolLo<>+56(SB)/4, $7
DATA poolLo<>+60(SB)/4, $23
GLOBL poolLo<>(SB), RODATA|NOPTR, $64

// GRAD16 routes 16 output gradients (fewer under K1) to their windows: Z0
// dy, Z3 the index of each maximum relative to its window's first input;
// K2 the lanes that pass the mask. Row 0 of the 16 windows goes to Z8, Z4
// and row 1 to Z9, Z6 (32 floats each, in column order).
#define GRAD16 \
	VPCMPEQD Z26, Z3, K2, K4 \
	VMOVAPS.Z Z0, K4, Z4 \
	VPCMPEQD Z27, Z3, K2, K4 \
	VMOVAPS.Z Z0, K4, Z5 \
	VPCMPEQD Z29, Z3, K2, K4 \
	VMOVAPS.Z Z0, K4, Z6 \
	VPCMPEQD Z28, Z3, K2, K4 \
	VMOVAPS.Z Z0, K4, Z7 \
	VMOVAPS Z4, Z8 \
	VPERMT2PS Z5, Z31, Z8 \
	VPERMT2PS Z5, Z30, Z4 \
	VMOVAPS Z6, Z9 \
	VPERMT2PS Z7, Z31, Z9 \
	VPERMT2PS Z7, Z30, Z6

// LOAD16 loads 16 outputs' dy (Z0) and window-relative indices (Z3) under
// K1 and sets K2 to the lanes that pass the mask (y > 0 when R12 is set).
#define LOAD16 \
	VMOVUPS.Z (AX), K1, Z0 \
	VMOVDQU32.Z (R8), K1, Z3 \
	VPSUBD Z12, Z3, Z3 \
	KMOVW K1, K2 \
	TESTQ R12, R12 \
	JZ    3(PC) \
	VMOVUPS.Z (SI), K1, Z1 \
	VCMPPS $0x1e, Z26, Z1, K1, K2

// func pool2GradAVX512(dy, y *float32, argmax *int32, w, ho, wo, mask int, dx *float32)
//
// The gradient of 2x2 max pooling for one plane, as the Go function
// pool2Grad, for the first 2*ho rows and 2*wo columns of dx (rows w floats
// apart); the caller clears an odd last row and column.
TEXT ·pool2GradAVX512(SB), NOSPLIT, $0-64
	MOVQ dy+0(FP), AX
	MOVQ y+8(FP), SI
	MOVQ argmax+16(FP), R8
	MOVQ w+24(FP), BX
	MOVQ ho+32(FP), R9
	MOVQ wo+40(FP), R10
	MOVQ mask+48(FP), R12
	MOVQ dx+56(FP), DI
	VMOVDQU32 poolLo<>(SB), Z31
	MOVL $8, DX
	VPBROADCASTD DX, Z30
	VPADDD Z30, Z31, Z30        // 8, 24, 9, 25, ...: the high half
	VMOVDQU32 poolEven<>(SB), Z25
	VPBROADCASTD BX, Z29        // w
	MOVL $1, DX
	VPBROADCASTD DX, Z27        // 1
	VPADDD Z27, Z29, Z28        // w+1
	VPXORD Z26, Z26, Z26        // 0
	MOVL $32, DX
	VPBROADCASTD DX, Z24        // 32
	SHLQ $2, BX                 // w in bytes
	// Masks of the last group: t outputs (K3) and 2t columns (K6), t = wo%16.
	MOVQ R10, CX
	ANDQ $15, CX
	MOVQ $1, DX
	SHLQ CX, DX
	DECQ DX
	KMOVW DX, K3
	SHLQ $1, CX
	MOVQ $1, DX
	SHLQ CX, DX
	DECQ DX
	KMOVQ DX, K6
	XORQ DX, DX                 // index in the plane of the row pair's first element

grow:
	VPBROADCASTD DX, Z12
	VPADDD Z25, Z12, Z12        // first input column of each window: 2*lane
	MOVQ DI, R11
	MOVQ R10, CX
	KXNORW K1, K1, K1

ggroup:
	CMPQ CX, $16
	JLT  gtail
	LOAD16
	GRAD16
	VMOVUPS Z8, (DI)
	VMOVUPS Z4, 64(DI)
	VMOVUPS Z9, (DI)(BX*1)
	VMOVUPS Z6, 64(DI)(BX*1)
	VPADDD Z24, Z12, Z12
	ADDQ $64, AX
	ADDQ $64, SI
	ADDQ $64, R8
	ADDQ $128, DI
	SUBQ $16, CX
	JMP  ggroup

gtail:
	TESTQ CX, CX
	JZ    growdone
	KMOVW K3, K1
	LOAD16
	GRAD16
	KMOVW K6, K5
	KSHIFTRQ $16, K6, K7
	VMOVUPS Z8, K5, (DI)
	VMOVUPS Z4, K7, 64(DI)
	VMOVUPS Z9, K5, (DI)(BX*1)
	VMOVUPS Z6, K7, 64(DI)(BX*1)
	LEAQ (AX)(CX*4), AX
	LEAQ (SI)(CX*4), SI
	LEAQ (R8)(CX*4), R8

growdone:
	MOVQ R11, DI
	LEAQ (DI)(BX*2), DI
	MOVQ BX, CX
	SHRQ $1, CX                 // 2w elements
	ADDQ CX, DX
	DECQ R9
	JNZ  grow
	VZEROUPPER
	RET
