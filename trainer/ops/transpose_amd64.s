#include "textflag.h"

// lanes is 0, 1, ..., 15.
DATA lanes<>+0(SB)/4, $0
DATA lanes<>+4(SB)/4, $1
DATA lanes<>+8(SB)/4, $2
DATA lanes<>+12(SB)/4, $3
DATA lanes<>+16(SB)/4, $4
DATA lanes<>+20(SB)/4, $5
DATA lanes<>+24(SB)/4, $6
DATA lanes<>+28(SB)/4, $7
DATA lanes<>+32(SB)/4, $8
DATA lanes<>+36(SB)/4, $9
DATA lanes<>+40(SB)/4, $10
DATA lanes<>+44(SB)/4, $11
DATA lanes<>+48(SB)/4, $12
DATA lanes<>+52(SB)/4, $13
DATA lanes<>+56(SB)/4, $14
DATA lanes<>+60(SB)/4, $15
GLOBL lanes<>(SB), RODATA|NOPTR, $64

// func transposeAVX512(src *float32, pix int, dst *float32, n int, mask int, ds int)
// For p in [0, n): dst[p*ds/4+o] = src[o*pix+p] for each channel o < 16
// whose bit is set in mask (ds in bytes); dst's other floats are left as
// they are.
TEXT ·transposeAVX512(SB), NOSPLIT, $0-48
	MOVQ src+0(FP), SI
	MOVQ pix+8(FP), AX
	MOVQ dst+16(FP), DI
	MOVQ n+24(FP), CX
	MOVQ mask+32(FP), DX
	MOVQ ds+40(FP), R8
	KMOVW DX, K2
	// Z1 = 0, pix, 2*pix, ... 15*pix: the channels' offsets in floats.
	VPBROADCASTD AX, Z2
	VMOVDQU32 lanes<>(SB), Z3
	VPMULLD Z2, Z3, Z1
	TESTQ CX, CX
	JZ    tdone

tloop:
	KMOVW K2, K1
	VXORPS Z0, Z0, Z0
	VGATHERDPS (SI)(Z1*4), K1, Z0
	VMOVUPS Z0, K2, (DI)
	ADDQ $4, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  tloop

tdone:
	VZEROUPPER
	RET


// STORE4ROWS stores four transposed rows at DI, ds (R11) apart (R12 = 3
// ds), and moves DI on by four rows.
#define STORE4ROWS(a, b, c, d) \
	VMOVUPS a, (DI) \
	VMOVUPS b, (DI)(R11*1) \
	VMOVUPS c, (DI)(R11*2) \
	VMOVUPS d, (DI)(R12*1) \
	LEAQ    (DI)(R11*4), DI

// func transpose16x16AVX512(src *float32, pix int, dst *float32, blocks int, ds int)
//
// For b < blocks and o, j < 16: dst[(16b+j)*ds/4+o] = src[o*pix+16b+j] (ds
// in bytes): 16 channels of 16 positions at a time transposed in registers
// (unpacks of floats and pairs, then two shuffles of 128-bit lanes).
TEXT ·transpose16x16AVX512(SB), NOSPLIT, $0-40
	MOVQ src+0(FP), SI
	MOVQ pix+8(FP), AX
	SHLQ $2, AX
	MOVQ dst+16(FP), DI
	MOVQ blocks+24(FP), CX
	MOVQ ds+32(FP), R11
	LEAQ (R11)(R11*2), R12      // 3 ds
	LEAQ (AX)(AX*2), BX         // 3 rows
	LEAQ (SI)(AX*4), R8         // rows 4-7
	LEAQ (R8)(AX*4), R9         // rows 8-11
	LEAQ (R9)(AX*4), R10        // rows 12-15
	TESTQ CX, CX
	JZ    t16done

t16loop:
	VMOVUPS (SI), Z0
	VMOVUPS (SI)(AX*1), Z1
	VMOVUPS (SI)(AX*2), Z2
	VMOVUPS (SI)(BX*1), Z3
	VMOVUPS (R8), Z4
	VMOVUPS (R8)(AX*1), Z5
	VMOVUPS (R8)(AX*2), Z6
	VMOVUPS (R8)(BX*1), Z7
	VMOVUPS (R9), Z8
	VMOVUPS (R9)(AX*1), Z9
	VMOVUPS (R9)(AX*2), Z10
	VMOVUPS (R9)(BX*1), Z11
	VMOVUPS (R10), Z12
	VMOVUPS (R10)(AX*1), Z13
	VMOVUPS (R10)(AX*2), Z14
	VMOVUPS (R10)(BX*1), Z15
	VUNPCKLPS Z1, Z0, Z16
	VUNPCKHPS Z1, Z0, Z17
	VUNPCKLPS Z3, Z2, Z18
	VUNPCKHPS Z3, Z2, Z19
	VUNPCKLPS Z5, Z4, Z20
	VUNPCKHPS Z5, Z4, Z21
	VUNPCKLPS Z7, Z6, Z22
	VUNPCKHPS Z7, Z6, Z23
	VUNPCKLPS Z9, Z8, Z24
	VUNPCKHPS Z9, Z8, Z25
	VUNPCKLPS Z11, Z10, Z26
	VUNPCKHPS Z11, Z10, Z27
	VUNPCKLPS Z13, Z12, Z28
	VUNPCKHPS Z13, Z12, Z29
	VUNPCKLPS Z15, Z14, Z30
	VUNPCKHPS Z15, Z14, Z31
	VUNPCKLPD Z18, Z16, Z0
	VUNPCKHPD Z18, Z16, Z1
	VUNPCKLPD Z19, Z17, Z2
	VUNPCKHPD Z19, Z17, Z3
	VUNPCKLPD Z22, Z20, Z4
	VUNPCKHPD Z22, Z20, Z5
	VUNPCKLPD Z23, Z21, Z6
	VUNPCKHPD Z23, Z21, Z7
	VUNPCKLPD Z26, Z24, Z8
	VUNPCKHPD Z26, Z24, Z9
	VUNPCKLPD Z27, Z25, Z10
	VUNPCKHPD Z27, Z25, Z11
	VUNPCKLPD Z30, Z28, Z12
	VUNPCKHPD Z30, Z28, Z13
	VUNPCKLPD Z31, Z29, Z14
	VUNPCKHPD Z31, Z29, Z15
	VSHUFF32X4 $0x44, Z4, Z0, Z16
	VSHUFF32X4 $0xEE, Z4, Z0, Z17
	VSHUFF32X4 $0x44, Z12, Z8, Z18
	VSHUFF32X4 $0xEE, Z12, Z8, Z19
	VSHUFF32X4 $0x44, Z5, Z1, Z20
	VSHUFF32X4 $0xEE, Z5, Z1, Z21
	VSHUFF32X4 $0x44, Z13, Z9, Z22
	VSHUFF32X4 $0xEE, Z13, Z9, Z23
	VSHUFF32X4 $0x44, Z6, Z2, Z24
	VSHUFF32X4 $0xEE, Z6, Z2, Z25
	VSHUFF32X4 $0x44, Z14, Z10, Z26
	VSHUFF32X4 $0xEE, Z14, Z10, Z27
	VSHUFF32X4 $0x44, Z7, Z3, Z28
	VSHUFF32X4 $0xEE, Z7, Z3, Z29
	VSHUFF32X4 $0x44, Z15, Z11, Z30
	VSHUFF32X4 $0xEE, Z15, Z11, Z31
	VSHUFF32X4 $0x88, Z18, Z16, Z0
	VSHUFF32X4 $0xDD, Z18, Z16, Z4
	VSHUFF32X4 $0x88, Z19, Z17, Z8
	VSHUFF32X4 $0xDD, Z19, Z17, Z12
	VSHUFF32X4 $0x88, Z22, Z20, Z1
	VSHUFF32X4 $0xDD, Z22, Z20, Z5
	VSHUFF32X4 $0x88, Z23, Z21, Z9
	VSHUFF32X4 $0xDD, Z23, Z21, Z13
	VSHUFF32X4 $0x88, Z26, Z24, Z2
	VSHUFF32X4 $0xDD, Z26, Z24, Z6
	VSHUFF32X4 $0x88, Z27, Z25, Z10
	VSHUFF32X4 $0xDD, Z27, Z25, Z14
	VSHUFF32X4 $0x88, Z30, Z28, Z3
	VSHUFF32X4 $0xDD, Z30, Z28, Z7
	VSHUFF32X4 $0x88, Z31, Z29, Z11
	VSHUFF32X4 $0xDD, Z31, Z29, Z15
	STORE4ROWS(Z0, Z1, Z2, Z3)
	STORE4ROWS(Z4, Z5, Z6, Z7)
	STORE4ROWS(Z8, Z9, Z10, Z11)
	STORE4ROWS(Z12, Z13, Z14, Z15)
	ADDQ $64, SI
	ADDQ $64, R8
	ADDQ $64, R9
	ADDQ $64, R10
	DECQ CX
	JNZ  t16loop

t16done:
	VZEROUPPER
	RET
