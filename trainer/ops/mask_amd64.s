#include "textflag.h"

// func positiveBitsAVX512(x *float32, words int, bits *uint64)
//
// Sets bit i of bits[j] where x[64*j+i] > 0 (ordered: NaN is not
// positive), for words whole words of 64 values.
TEXT ·positiveBitsAVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ words+8(FP), CX
	MOVQ bits+16(FP), DI
	VPXORD Z31, Z31, Z31
	TESTQ CX, CX
	JZ    done

loop:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS 128(SI), Z2
	VMOVUPS 192(SI), Z3
	VCMPPS  $0x1e, Z31, Z0, K1
	VCMPPS  $0x1e, Z31, Z1, K2
	VCMPPS  $0x1e, Z31, Z2, K3
	VCMPPS  $0x1e, Z31, Z3, K4
	KMOVW   K1, AX
	KMOVW   K2, BX
	KMOVW   K3, DX
	KMOVW   K4, R8
	SHLQ    $16, BX
	ORQ     BX, AX
	SHLQ    $32, DX
	ORQ     DX, AX
	SHLQ    $48, R8
	ORQ     R8, AX
	MOVQ    AX, (DI)
	ADDQ    $256, SI
	ADDQ    $8, DI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET

// func maskBitsAVX512(dy *float32, words int, bits *uint64)
//
// Zeroes (to +0) dy[64*j+i] where bit i of bits[j] is clear, for words
// whole words of 64 values.
TEXT ·maskBitsAVX512(SB), NOSPLIT, $0-24
	MOVQ dy+0(FP), SI
	MOVQ words+8(FP), CX
	MOVQ bits+16(FP), DI
	TESTQ CX, CX
	JZ    done

loop:
	MOVQ      (DI), AX
	KMOVW     AX, K1
	SHRQ      $16, AX
	KMOVW     AX, K2
	SHRQ      $16, AX
	KMOVW     AX, K3
	SHRQ      $16, AX
	KMOVW     AX, K4
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z 64(SI), K2, Z1
	VMOVUPS.Z 128(SI), K3, Z2
	VMOVUPS.Z 192(SI), K4, Z3
	VMOVUPS   Z0, (SI)
	VMOVUPS   Z1, 64(SI)
	VMOVUPS   Z2, 128(SI)
	VMOVUPS   Z3, 192(SI)
	ADDQ      $256, SI
	ADDQ      $8, DI
	DECQ      CX
	JNZ       loop

done:
	VZEROUPPER
	RET
