#include "textflag.h"

// Winograd F(2x2, 3x3) and F(2x2, 5x5) transforms, vectorised over 16 tiles (winoIn, winoOut)
// or 16 channels (winoDy). See winograd.go for the Go reference of each.

DATA winoEven<>+0(SB)/4, $0
DATA winoEven<>+4(SB)/4, $2
DATA winoEven<>+8(SB)/4, $4
DATA winoEven<>+12(SB)/4, $6
DATA winoEven<>+16(SB)/4, $8
DATA winoEven<>+20(SB)/4, $10
DATA winoEven<>+24(SB)/4, $12
DATA winoEven<>+28(SB)/4, $14
DATA winoEven<>+32(SB)/4, $16
DATA winoEven<>+36(SB)/4, $18
DATA winoEven<>+40(SB)/4, $20
DATA winoEven<>+44(SB)/4, $22
DATA winoEven<>+48(SB)/4, $24
DATA winoEven<>+52(SB)/4, $26
DATA winoEven<>+56(SB)/4, $28
DATA winoEven<>+60(SB)/4, $30
GLOBL winoEven<>(SB), RODATA|NOPTR, $64

DATA winoOdd<>+0(SB)/4, $1
DATA winoOdd<>+4(SB)/4, $3
DATA winoOdd<>+8(SB)/4, $5
DATA winoOdd<>+12(SB)/4, $7
DATA winoOdd<>+16(SB)/4, $9
DATA winoOdd<>+20(SB)/4, $11
DATA winoOdd<>+24(SB)/4, $13
DATA winoOdd<>+28(SB)/4, $15
DATA winoOdd<>+32(SB)/4, $17
DATA winoOdd<>+36(SB)/4, $19
DATA winoOdd<>+40(SB)/4, $21
DATA winoOdd<>+44(SB)/4, $23
DATA winoOdd<>+48(SB)/4, $25
DATA winoOdd<>+52(SB)/4, $27
DATA winoOdd<>+56(SB)/4, $29
DATA winoOdd<>+60(SB)/4, $31
GLOBL winoOdd<>(SB), RODATA|NOPTR, $64

DATA winoLo<>+0(SB)/4, $0
DATA winoLo<>+4(SB)/4, $16
DATA winoLo<>+8(SB)/4, $1
DATA winoLo<>+12(SB)/4, $17
DATA winoLo<>+16(SB)/4, $2
DATA winoLo<>+20(SB)/4, $18
DATA winoLo<>+24(SB)/4, $3
DATA winoLo<>+28(SB)/4, $19
DATA winoLo<>+32(SB)/4, $4
DATA winoLo<>+36(SB)/4, $20
DATA winoLo<>+40(SB)/4, $5
DATA winoLo<>+44(SB)/4, $21
DATA winoLo<>+48(SB)/4, $6
DATA winoLo<>+52(SB)/4, $22
DATA winoLo<>+56(SB)/4, $7
DATA winoLo<>+60(SB)/4, $23
GLOBL winoLo<>(SB), RODATA|NOPTR, $64

DATA winoHi<>+0(SB)/4, $8
DATA winoHi<>+4(SB)/4, $24
DATA winoHi<>+8(SB)/4, $9
DATA winoHi<>+12(SB)/4, $25
DATA winoHi<>+16(SB)/4, $10
DATA winoHi<>+20(SB)/4, $26
DATA winoHi<>+24(SB)/4, $11
DATA winoHi<>+28(SB)/4, $27
DATA winoHi<>+32(SB)/4, $12
DATA winoHi<>+36(SB)/4, $28
DATA winoHi<>+40(SB)/4, $13
DATA winoHi<>+44(SB)/4, $29
DATA winoHi<>+48(SB)/4, $14
DATA winoHi<>+52(SB)/4, $30
DATA winoHi<>+56(SB)/4, $15
DATA winoHi<>+60(SB)/4, $31
GLOBL winoHi<>(SB), RODATA|NOPTR, $64
// WROW transforms one input row at p: d0..d3 are columns 2t..2t+3 of tiles
// t = 0..15 (even and odd columns gathered by VPERMT2PS), and the row's
// d B = (d0-d2, d1+d2, d2-d1, d1-d3) is left in a, b, c, d.
#define WROW(p, a, b, c, d) \
	VMOVUPS (p), a \
	VMOVUPS (p), b \
	VPERMT2PS 64(p), Z30, a \
	VPERMT2PS 64(p), Z31, b \
	VMOVUPS 8(p), c \
	VMOVUPS 8(p), d \
	VPERMT2PS 72(p), Z30, c \
	VPERMT2PS 72(p), Z31, d \
	VSUBPS d, b, d \
	VSUBPS c, a, a \
	VSUBPS b, c, Z29 \
	VADDPS c, b, b \
	VMOVUPS Z29, c

// WCOL combines column q of the four rows into V_q, V_4+q, V_8+q, V_12+q
// and stores them at (DX), (DX)(R12), (DX)(R13), (DX)(R14).
#define WCOL(h0, h1, h2, h3) \
	VSUBPS h2, h0, Z16 \
	VADDPS h2, h1, Z17 \
	VSUBPS h1, h2, Z18 \
	VSUBPS h3, h1, Z19 \
	VMOVUPS Z16, (DX) \
	VMOVUPS Z17, (DX)(R12*1) \
	VMOVUPS Z18, (DX)(R13*1) \
	VMOVUPS Z19, (DX)(R14*1) \
	ADDQ R10, DX

// func winoInAVX512(src *float32, pitch, plane, nc int, dst *float32, cstride, xstride int)
TEXT ·winoInAVX512(SB), NOSPLIT, $0-56
	MOVQ src+0(FP), SI
	MOVQ pitch+8(FP), BX
	MOVQ plane+16(FP), R8
	MOVQ nc+24(FP), CX
	MOVQ dst+32(FP), DI
	MOVQ cstride+40(FP), R9
	MOVQ xstride+48(FP), R10
	MOVQ R10, R12
	SHLQ $2, R12
	LEAQ (R12)(R12*1), R13
	LEAQ (R13)(R12*1), R14
	VMOVUPS winoEven<>(SB), Z30
	VMOVUPS winoOdd<>(SB), Z31

inloop:
	MOVQ SI, AX
	WROW(AX, Z0, Z1, Z2, Z3)
	ADDQ BX, AX
	WROW(AX, Z4, Z5, Z6, Z7)
	ADDQ BX, AX
	WROW(AX, Z8, Z9, Z10, Z11)
	ADDQ BX, AX
	WROW(AX, Z12, Z13, Z14, Z15)
	MOVQ DI, DX
	WCOL(Z0, Z4, Z8, Z12)
	WCOL(Z1, Z5, Z9, Z13)
	WCOL(Z2, Z6, Z10, Z14)
	WCOL(Z3, Z7, Z11, Z15)
	ADDQ R8, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  inloop
	VZEROUPPER
	RET

// WSUM loads M_q, M_4+q, M_8+q, M_12+q at (DX), (DX)(R12), (DX)(R13),
// (DX)(R14) and leaves A^T's rows applied: s0 = M0+M1+M2, s1 = M1-M2-M3.
#define WSUM(s0, s1) \
	VMOVUPS (DX), Z16 \
	VMOVUPS (DX)(R12*1), Z17 \
	VMOVUPS (DX)(R13*1), Z18 \
	VMOVUPS (DX)(R14*1), Z19 \
	VADDPS Z17, Z16, Z16 \
	VADDPS Z18, Z16, s0 \
	VSUBPS Z18, Z17, Z17 \
	VSUBPS Z19, Z17, s1 \
	ADDQ R10, DX

// func winoOutAVX512(m *float32, xstride, ostride, no int, y *float32, yplane, pitch, rows int, mask uint64, bias *float32, flags int)
TEXT ·winoOutAVX512(SB), NOSPLIT, $0-88
	MOVQ m+0(FP), SI
	MOVQ xstride+8(FP), R10
	MOVQ ostride+16(FP), R9
	MOVQ no+24(FP), CX
	MOVQ y+32(FP), DI
	MOVQ yplane+40(FP), R8
	MOVQ pitch+48(FP), BX
	MOVQ rows+56(FP), R11
	MOVQ mask+64(FP), AX
	KMOVW AX, K1
	SHRQ $16, AX
	KMOVW AX, K2
	MOVQ bias+72(FP), R15
	MOVQ flags+80(FP), AX
	MOVQ R10, R12
	SHLQ $2, R12
	LEAQ (R12)(R12*1), R13
	LEAQ (R13)(R12*1), R14
	VMOVUPS winoLo<>(SB), Z30
	VMOVUPS winoHi<>(SB), Z31
	VPXORD Z28, Z28, Z28

outloop:
	MOVQ SI, DX
	WSUM(Z0, Z4)
	WSUM(Z1, Z5)
	WSUM(Z2, Z6)
	WSUM(Z3, Z7)
	// Row 0: y0 = s00+s01+s02, y1 = s01-s02-s03; row 1 likewise from s1.
	VADDPS Z1, Z0, Z8
	VADDPS Z2, Z8, Z8
	VSUBPS Z2, Z1, Z9
	VSUBPS Z3, Z9, Z9
	VADDPS Z5, Z4, Z10
	VADDPS Z6, Z10, Z10
	VSUBPS Z6, Z5, Z11
	VSUBPS Z7, Z11, Z11
	TESTQ $1, AX
	JZ    nobias
	VBROADCASTSS (R15), Z20
	VADDPS Z20, Z8, Z8
	VADDPS Z20, Z9, Z9
	VADDPS Z20, Z10, Z10
	VADDPS Z20, Z11, Z11
	ADDQ $4, R15

nobias:
	TESTQ $2, AX
	JZ    norelu
	VMAXPS Z8, Z28, Z8
	VMAXPS Z9, Z28, Z9
	VMAXPS Z10, Z28, Z10
	VMAXPS Z11, Z28, Z11

norelu:
	// Interleave the even and odd columns of each row.
	// Full segments store without masks: masked stores are slower.
	VMOVUPS Z8, Z12
	VPERMT2PS Z9, Z30, Z12
	VPERMT2PS Z9, Z31, Z8
	VMOVUPS Z10, Z13
	VPERMT2PS Z11, Z30, Z13
	VPERMT2PS Z11, Z31, Z10
	TESTQ $4, AX
	JZ    masked
	VMOVUPS Z12, (DI)
	VMOVUPS Z8, 64(DI)
	CMPQ R11, $2
	JLT  onerow
	VMOVUPS Z13, (DI)(BX*1)
	VMOVUPS Z10, 64(DI)(BX*1)
	JMP  onerow

masked:
	VMOVUPS Z12, K1, (DI)
	VMOVUPS Z8, K2, 64(DI)
	CMPQ R11, $2
	JLT  onerow
	VMOVUPS Z13, K1, (DI)(BX*1)
	VMOVUPS Z10, K2, 64(DI)(BX*1)

onerow:
	ADDQ R9, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  outloop
	VZEROUPPER
	RET

// WDYROW stores the row (a, b) of A dY as dM_4i.. = (a, a+b, a-b, -b) at
// (DX), (DX)(R12), (DX)(R13), (DX)(R14), then moves DX on by 4 xstride.
#define WDYROW(a, b) \
	VADDPS b, a, Z16 \
	VSUBPS b, a, Z17 \
	VSUBPS b, Z28, Z18 \
	VMOVUPS a, (DX) \
	VMOVUPS Z16, (DX)(R12*1) \
	VMOVUPS Z17, (DX)(R13*1) \
	VMOVUPS Z18, (DX)(R14*1) \
	ADDQ R15, DX

// func winoDyAVX512(src *float32, rp, cnt, og int, dst *float32, cs, xstride int, db *float32)
//
// It also adds each tile's four pixels, (y00+y01)+(y10+y11), to db (og*16
// floats, one per channel): the bias gradient.
TEXT ·winoDyAVX512(SB), NOSPLIT, $0-64
	MOVQ src+0(FP), SI
	MOVQ rp+8(FP), BX
	MOVQ cnt+16(FP), CX
	MOVQ og+24(FP), R8
	MOVQ dst+32(FP), DI
	MOVQ cs+40(FP), R9
	MOVQ xstride+48(FP), R12
	LEAQ (R12)(R12*1), R13
	LEAQ (R13)(R12*1), R14
	LEAQ (R12*4), R15
	VPXORD Z28, Z28, Z28

dytile:
	MOVQ R8, R11
	MOVQ SI, AX
	MOVQ DI, R10

dygroup:
	VMOVUPS (AX), Z0
	VMOVUPS (AX)(R9*1), Z1
	LEAQ (AX)(BX*1), DX
	VMOVUPS (DX), Z2
	VMOVUPS (DX)(R9*1), Z3
	// db of this group of 16 channels lies as far from db as AX from SI.
	MOVQ    AX, DX
	SUBQ    SI, DX
	ADDQ    db+56(FP), DX
	VADDPS  Z1, Z0, Z20
	VADDPS  Z3, Z2, Z21
	VADDPS  Z21, Z20, Z20
	VADDPS  (DX), Z20, Z20
	VMOVUPS Z20, (DX)
	// Rows of A dY: (y00, y01), (y00+y10, y01+y11), (y00-y10, y01-y11), (-y10, -y11).
	VADDPS Z2, Z0, Z4
	VADDPS Z3, Z1, Z5
	VSUBPS Z2, Z0, Z6
	VSUBPS Z3, Z1, Z7
	VSUBPS Z2, Z28, Z8
	VSUBPS Z3, Z28, Z9
	MOVQ R10, DX
	WDYROW(Z0, Z1)
	WDYROW(Z4, Z5)
	WDYROW(Z6, Z7)
	WDYROW(Z8, Z9)
	ADDQ $64, AX
	ADDQ $64, R10
	DECQ R11
	JNZ  dygroup
	LEAQ (SI)(R9*2), SI
	ADDQ R9, DI
	DECQ CX
	JNZ  dytile
	VZEROUPPER
	RET

// F(2x2, 5x5): the transforms of winograd5.go, in the same order of
// operations. Z29 and Z28 hold 4 and 5 in every lane.

// W5LOAD loads columns 2t..2t+5 of one input row at p for tiles t = 0..15
// into Z0..Z5.
#define W5LOAD(p) \
	VMOVUPS (p), Z0 \
	VMOVUPS (p), Z1 \
	VPERMT2PS 64(p), Z30, Z0 \
	VPERMT2PS 64(p), Z31, Z1 \
	VMOVUPS 8(p), Z2 \
	VMOVUPS 8(p), Z3 \
	VPERMT2PS 72(p), Z30, Z2 \
	VPERMT2PS 72(p), Z31, Z3 \
	VMOVUPS 16(p), Z4 \
	VMOVUPS 16(p), Z5 \
	VPERMT2PS 80(p), Z30, Z4 \
	VPERMT2PS 80(p), Z31, Z5

// W5BT applies B^T to d = Z0..Z5 (winoBT5) and leaves v in Z6..Z11.
#define W5BT \
	VMULPS Z29, Z0, Z12 \
	VADDPS Z4, Z12, Z12 \
	VMULPS Z28, Z2, Z13 \
	VSUBPS Z13, Z12, Z6 \
	VADDPS Z2, Z1, Z12 \
	VMULPS Z29, Z12, Z12 \
	VADDPS Z4, Z3, Z13 \
	VSUBPS Z13, Z12, Z7 \
	VSUBPS Z1, Z2, Z12 \
	VMULPS Z29, Z12, Z12 \
	VSUBPS Z4, Z3, Z13 \
	VADDPS Z13, Z12, Z8 \
	VSUBPS Z1, Z3, Z12 \
	VSUBPS Z2, Z4, Z13 \
	VADDPS Z12, Z12, Z12 \
	VADDPS Z13, Z12, Z9 \
	VSUBPS Z12, Z13, Z10 \
	VMULPS Z29, Z1, Z12 \
	VADDPS Z5, Z12, Z12 \
	VMULPS Z28, Z3, Z13 \
	VSUBPS Z13, Z12, Z11

// W5ROW transforms the input row at AX and stores d B at (DX), X apart
// (R12 = X, R13 = 2X, R14 = 3X, R15 = 4X, R11 = 5X).
#define W5ROW \
	W5LOAD(AX) \
	W5BT \
	VMOVUPS Z6, (DX) \
	VMOVUPS Z7, (DX)(R12*1) \
	VMOVUPS Z8, (DX)(R13*1) \
	VMOVUPS Z9, (DX)(R14*1) \
	VMOVUPS Z10, (DX)(R15*1) \
	VMOVUPS Z11, (DX)(R11*1) \
	ADDQ BX, AX \
	ADDQ R10, DX

// W5COL transforms the column of h at (DX), 6X (R10) apart, in place.
#define W5COL \
	MOVQ DX, AX \
	VMOVUPS (AX), Z0 \
	ADDQ R10, AX \
	VMOVUPS (AX), Z1 \
	ADDQ R10, AX \
	VMOVUPS (AX), Z2 \
	ADDQ R10, AX \
	VMOVUPS (AX), Z3 \
	ADDQ R10, AX \
	VMOVUPS (AX), Z4 \
	ADDQ R10, AX \
	VMOVUPS (AX), Z5 \
	W5BT \
	MOVQ DX, AX \
	VMOVUPS Z6, (AX) \
	ADDQ R10, AX \
	VMOVUPS Z7, (AX) \
	ADDQ R10, AX \
	VMOVUPS Z8, (AX) \
	ADDQ R10, AX \
	VMOVUPS Z9, (AX) \
	ADDQ R10, AX \
	VMOVUPS Z10, (AX) \
	ADDQ R10, AX \
	VMOVUPS Z11, (AX) \
	ADDQ R12, DX

// func winoIn5AVX512(src *float32, pitch, plane, nc int, dst *float32, cstride, xstride int)
TEXT ·winoIn5AVX512(SB), NOSPLIT, $0-56
	MOVQ src+0(FP), SI
	MOVQ pitch+8(FP), BX
	MOVQ plane+16(FP), R8
	MOVQ nc+24(FP), CX
	MOVQ dst+32(FP), DI
	MOVQ cstride+40(FP), R9
	MOVQ xstride+48(FP), R12
	LEAQ (R12)(R12*1), R13
	LEAQ (R13)(R12*1), R14
	LEAQ (R12*4), R15
	LEAQ (R15)(R12*1), R11
	LEAQ (R13)(R13*2), R10
	VMOVUPS winoEven<>(SB), Z30
	VMOVUPS winoOdd<>(SB), Z31
	MOVL $0x40800000, AX
	VPBROADCASTD AX, Z29
	MOVL $0x40a00000, AX
	VPBROADCASTD AX, Z28

in5loop:
	// h = d B, row by row, into V's places; then V = B^T h, column by column.
	MOVQ SI, AX
	MOVQ DI, DX
	W5ROW
	W5ROW
	W5ROW
	W5ROW
	W5ROW
	W5ROW
	MOVQ DI, DX
	W5COL
	W5COL
	W5COL
	W5COL
	W5COL
	W5COL
	ADDQ R8, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  in5loop
	VZEROUPPER
	RET

// W5SUM loads the column of M at (DX), 6X (R12) apart, and leaves A^T
// applied (winoAT5) in s0 and s1; DX moves on by X.
#define W5SUM(s0, s1) \
	MOVQ DX, R13 \
	VMOVUPS (R13), Z16 \
	ADDQ R12, R13 \
	VMOVUPS (R13), Z17 \
	ADDQ R12, R13 \
	VMOVUPS (R13), Z18 \
	ADDQ R12, R13 \
	VMOVUPS (R13), Z19 \
	ADDQ R12, R13 \
	VMOVUPS (R13), Z20 \
	ADDQ R12, R13 \
	VMOVUPS (R13), Z21 \
	VADDPS Z17, Z16, s0 \
	VADDPS Z18, s0, s0 \
	VADDPS Z19, s0, s0 \
	VADDPS Z20, s0, s0 \
	VSUBPS Z18, Z17, Z22 \
	VSUBPS Z20, Z19, Z23 \
	VADDPS Z23, Z23, Z23 \
	VADDPS Z23, Z22, s1 \
	VADDPS Z21, s1, s1 \
	ADDQ R10, DX

// W5AT applies A^T to the row m0..m5 and leaves it in s0 and s1.
#define W5AT(m0, m1, m2, m3, m4, m5, s0, s1) \
	VADDPS m1, m0, s0 \
	VADDPS m2, s0, s0 \
	VADDPS m3, s0, s0 \
	VADDPS m4, s0, s0 \
	VSUBPS m2, m1, Z22 \
	VSUBPS m4, m3, Z23 \
	VADDPS Z23, Z23, Z23 \
	VADDPS Z23, Z22, s1 \
	VADDPS m5, s1, s1

// func winoOut5AVX512(m *float32, xstride, ostride, no int, y *float32, yplane, pitch, rows int, mask uint64, bias *float32, flags int)
TEXT ·winoOut5AVX512(SB), NOSPLIT, $0-88
	MOVQ m+0(FP), SI
	MOVQ xstride+8(FP), R10
	MOVQ ostride+16(FP), R9
	MOVQ no+24(FP), CX
	MOVQ y+32(FP), DI
	MOVQ yplane+40(FP), R8
	MOVQ pitch+48(FP), BX
	MOVQ rows+56(FP), R11
	MOVQ mask+64(FP), AX
	KMOVW AX, K1
	SHRQ $16, AX
	KMOVW AX, K2
	MOVQ bias+72(FP), R15
	MOVQ flags+80(FP), AX
	LEAQ (R10)(R10*2), R12
	ADDQ R12, R12
	VMOVUPS winoLo<>(SB), Z30
	VMOVUPS winoHi<>(SB), Z31
	VPXORD Z28, Z28, Z28

out5loop:
	MOVQ SI, DX
	W5SUM(Z0, Z6)
	W5SUM(Z1, Z7)
	W5SUM(Z2, Z8)
	W5SUM(Z3, Z9)
	W5SUM(Z4, Z10)
	W5SUM(Z5, Z11)
	W5AT(Z0, Z1, Z2, Z3, Z4, Z5, Z12, Z13)
	W5AT(Z6, Z7, Z8, Z9, Z10, Z11, Z14, Z15)
	TESTQ $1, AX
	JZ    nobias5
	VBROADCASTSS (R15), Z26
	VADDPS Z26, Z12, Z12
	VADDPS Z26, Z13, Z13
	VADDPS Z26, Z14, Z14
	VADDPS Z26, Z15, Z15
	ADDQ $4, R15

nobias5:
	TESTQ $2, AX
	JZ    norelu5
	VMAXPS Z12, Z28, Z12
	VMAXPS Z13, Z28, Z13
	VMAXPS Z14, Z28, Z14
	VMAXPS Z15, Z28, Z15

norelu5:
	VMOVUPS Z12, Z24
	VPERMT2PS Z13, Z30, Z24
	VPERMT2PS Z13, Z31, Z12
	VMOVUPS Z14, Z25
	VPERMT2PS Z15, Z30, Z25
	VPERMT2PS Z15, Z31, Z14
	TESTQ $4, AX
	JZ    masked5
	VMOVUPS Z24, (DI)
	VMOVUPS Z12, 64(DI)
	CMPQ R11, $2
	JLT  onerow5
	VMOVUPS Z25, (DI)(BX*1)
	VMOVUPS Z14, 64(DI)(BX*1)
	JMP  onerow5

masked5:
	VMOVUPS Z24, K1, (DI)
	VMOVUPS Z12, K2, 64(DI)
	CMPQ R11, $2
	JLT  onerow5
	VMOVUPS Z25, K1, (DI)(BX*1)
	VMOVUPS Z14, K2, 64(DI)(BX*1)

onerow5:
	ADDQ R9, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  out5loop
	VZEROUPPER
	RET

// W5DYROW stores the row (a, b) of A dY as dM = (a, a+b, a-b, a+2b, a-2b,
// b) at DX, X (R12) apart, moving DX on.
#define W5DYROW(a, b) \
	VADDPS b, b, Z16 \
	VADDPS b, a, Z17 \
	VSUBPS b, a, Z18 \
	VADDPS Z16, a, Z19 \
	VSUBPS Z16, a, Z20 \
	VMOVUPS a, (DX) \
	ADDQ R12, DX \
	VMOVUPS Z17, (DX) \
	ADDQ R12, DX \
	VMOVUPS Z18, (DX) \
	ADDQ R12, DX \
	VMOVUPS Z19, (DX) \
	ADDQ R12, DX \
	VMOVUPS Z20, (DX) \
	ADDQ R12, DX \
	VMOVUPS b, (DX) \
	ADDQ R12, DX

// func winoDy5AVX512(src *float32, rp, cnt, og int, dst *float32, cs, xstride int, db *float32)
//
// Like winoDyAVX512, it adds each tile's four pixels to db.
TEXT ·winoDy5AVX512(SB), NOSPLIT, $0-64
	MOVQ src+0(FP), SI
	MOVQ rp+8(FP), BX
	MOVQ cnt+16(FP), CX
	MOVQ og+24(FP), R8
	MOVQ dst+32(FP), DI
	MOVQ cs+40(FP), R9
	MOVQ xstride+48(FP), R12
	MOVQ db+56(FP), R13

dy5tile:
	MOVQ R8, R11
	MOVQ SI, AX
	MOVQ DI, R10
	MOVQ R13, R14

dy5group:
	VMOVUPS (AX), Z0
	VMOVUPS (AX)(R9*1), Z1
	LEAQ (AX)(BX*1), DX
	VMOVUPS (DX), Z2
	VMOVUPS (DX)(R9*1), Z3
	VADDPS  Z1, Z0, Z20
	VADDPS  Z3, Z2, Z21
	VADDPS  Z21, Z20, Z20
	VADDPS  (R14), Z20, Z20
	VMOVUPS Z20, (R14)
	ADDQ    $64, R14
	// Rows of A dY: y0, y0+y1, y0-y1, y0+2y1, y0-2y1, y1.
	VADDPS Z2, Z2, Z4
	VADDPS Z3, Z3, Z5
	VADDPS Z2, Z0, Z6
	VADDPS Z3, Z1, Z7
	VSUBPS Z2, Z0, Z8
	VSUBPS Z3, Z1, Z9
	VADDPS Z4, Z0, Z10
	VADDPS Z5, Z1, Z11
	VSUBPS Z4, Z0, Z12
	VSUBPS Z5, Z1, Z13
	MOVQ R10, DX
	W5DYROW(Z0, Z1)
	W5DYROW(Z6, Z7)
	W5DYROW(Z8, Z9)
	W5DYROW(Z10, Z11)
	W5DYROW(Z12, Z13)
	W5DYROW(Z2, Z3)
	ADDQ $64, AX
	ADDQ $64, R10
	DECQ R11
	JNZ  dy5group
	LEAQ (SI)(R9*2), SI
	ADDQ R9, DI
	DECQ CX
	JNZ  dy5tile
	VZEROUPPER
	RET
